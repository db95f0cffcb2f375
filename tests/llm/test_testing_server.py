"""The scripted server is shared with other areas: its behaviour is a contract."""

from __future__ import annotations

import openai
import pytest

from kgkit.llm.testing import (
    ScriptedLLMServer,
    error_status,
    json_reply,
    rate_limited,
    reply,
    server_error,
    slow,
    truncated,
)


def _ask(s: ScriptedLLMServer, timeout: float = 5.0) -> str:
    c = openai.OpenAI(base_url=s.base_url, api_key="k", max_retries=0, timeout=timeout)
    r = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello there"}])
    return r.choices[0].message.content


def test_queue_then_handler_then_exhausted():
    with ScriptedLLMServer(["first", json_reply({"a": 1})], handler=None) as s:
        assert _ask(s) == "first"
        assert _ask(s) == '{"a": 1}'
        with pytest.raises(openai.InternalServerError, match="exhausted"):
            _ask(s)
        s.handler = lambda req: reply(f"echo {req.messages[-1]['content']}")
        assert _ask(s) == "echo hello there"
        assert len(s.chat_requests) == 4
        assert s.requests[0].body["model"] == "m"
        assert s.requests[0].headers["authorization"] == "Bearer k"


def test_error_answers_carry_status_and_headers():
    with ScriptedLLMServer([rate_limited(2.5), server_error(503), error_status(400, "bad schema")]) as s:
        with pytest.raises(openai.RateLimitError) as e429:
            _ask(s)
        assert e429.value.response.headers["retry-after"] == "2.5"
        with pytest.raises(openai.InternalServerError) as e503:
            _ask(s)
        assert e503.value.status_code == 503
        with pytest.raises(openai.BadRequestError, match="bad schema"):
            _ask(s)


def test_slow_answer_times_out_and_usage_is_reported():
    with ScriptedLLMServer([slow("late", 2.0), reply("ok", usage={"prompt_tokens": 7, "completion_tokens": 3})]) as s:
        with pytest.raises(openai.APITimeoutError):
            _ask(s, timeout=0.3)
        c = openai.OpenAI(base_url=s.base_url, api_key="k", max_retries=0)
        r = c.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (7, 3)


def test_truncated_is_partial_json():
    s = truncated({"facts": [{"subject": "A"}]}, keep=0.5)
    assert s.finish_reason == "length"
    assert s.content and not s.content.endswith("}")
