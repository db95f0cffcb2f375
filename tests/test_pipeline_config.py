"""Pipeline files are validated by pydantic models and the registries: every error names the YAML key
path, what is wrong and the fix; every shipped ingest pipeline stays valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgkit.config import PIPELINES_DIR, PipelineConfig, load_pipeline
from kgkit.errors import ConfigError

INGEST_PIPELINES = [p for p in sorted(PIPELINES_DIR.glob("*.yaml")) if not p.name.startswith("kge-")]


@pytest.mark.parametrize("path", INGEST_PIPELINES, ids=lambda p: p.name)
def test_shipped_ingest_pipelines_are_valid(path: Path) -> None:
    cfg = load_pipeline(path)
    assert cfg.store["name"] and cfg.extractor["name"]
    assert set(cfg.extractor_kwargs()) == set(cfg.extractor) - {"name"}


def test_kge_pipelines_are_pointed_to_embed_train() -> None:
    with pytest.raises(ConfigError, match="kgkit embed train"):
        load_pipeline(PIPELINES_DIR / "kge-transe.yaml")


def test_only_what_the_file_says_reaches_a_stage() -> None:
    cfg = PipelineConfig.from_dict({"ingest": {"max_bytes": 100}, "chunking": {"max_chars": 500}})
    assert dict(cfg.ingest) == {"max_bytes": 100} and dict(cfg.chunking) == {"max_chars": 500}
    assert cfg.store["name"] == "falkordb" and cfg.extractor["name"] == "spacy"
    assert dict(PipelineConfig.from_dict({"fusion": None}).fusion) == {}


@pytest.mark.parametrize("data, expected", [
    ({"stores": {}}, ["stores: Extra inputs are not permitted", "allowed: name, description, ontology, store"]),
    ({"ingest": {"max_byte": 5}}, ["ingest.max_byte:", "allowed: include, exclude, max_bytes"]),
    ({"ingest": {"max_bytes": -1}}, ["ingest.max_bytes: Input should be greater than 0", "(got -1)"]),
    ({"ingest": {"follow_symlinks": "yes"}}, ["ingest.follow_symlinks:", "(got 'yes')"]),
    ({"chunking": {"max_chars": "big"}}, ["chunking.max_chars:", "(got 'big')"]),
    ({"store": "neo4j"}, ["store: Input should be a valid dictionary", "write it as a mapping of keyword arguments"]),
    ({"store": {"data_dir": "x"}}, ["store.name: Field required; add it"]),
    ({"store": {"name": "neo4k"}}, ["store.name: unknown store 'neo4k' (did you mean 'neo4j'?)", "registered: falkordb, neo4j"]),
    ({"extractor": {"name": "llmm"}}, ["extractor.name: unknown extractor 'llmm'", "spacy, llm, trained"]),
    ({"fusion": {"policy": "oracle"}}, ["fusion.policy: unknown conflict policy 'oracle'", "accucopy, majority"]),
    ({"ingest": {"readers": {".rst": "rst"}}}, ["ingest.readers..rst: unknown reader 'rst'", "text, markdown, html, pdf"]),
])
def test_errors_name_the_key_path_and_the_fix(data, expected) -> None:
    with pytest.raises(ConfigError) as info:
        PipelineConfig.from_dict(data, source="my.yaml")
    msg = str(info.value)
    assert msg.startswith("my.yaml: ")
    for part in expected:
        assert part in msg, msg


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(ConfigError) as info:
        PipelineConfig.from_dict({"ingest": {"max_bytes": 0, "batch_documents": 0}}, source="p.yaml")
    assert "ingest.max_bytes" in str(info.value) and "ingest.batch_documents" in str(info.value)


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_pipeline(p)
