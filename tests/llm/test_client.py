from __future__ import annotations

import asyncio
import threading
import time

import pytest

from kgkit.errors import BudgetExceededError, ConfigError, LLMError
from kgkit.llm import LLMClient, ResponseFormatUnsupportedError
from kgkit.llm.testing import Scripted, error_status, rate_limited, reply, server_error, slow

MSG = [{"role": "user", "content": "Extract facts from: Ada Lovelace was born in London."}]


def test_retries_429_honouring_retry_after(server, make_client):
    server.push(rate_limited(0.4), "done")
    client = make_client()
    t0 = time.perf_counter()
    out = client.complete(MSG)
    assert out.text == "done" and not out.cached
    assert time.perf_counter() - t0 >= 0.4  # waited as told, not the 0.01 s backoff
    assert client.stats.retries == 1 and client.stats.calls == 1


def test_retries_5xx_and_timeouts_then_gives_up(server, make_client):
    server.push(server_error(500), slow("late", 2.0), server_error(502), "ok")
    client = make_client(timeout=0.3)
    assert client.complete(MSG).text == "ok"
    assert client.stats.retries == 3
    server.push(*[server_error(503)] * 3)
    with pytest.raises(LLMError, match="still failed after 2 retries"):
        make_client(max_retries=2).complete(MSG, cache_key_extra="other")


def test_non_retryable_errors_fail_fast(server, make_client):
    server.push(error_status(401, "bad key"))
    with pytest.raises(LLMError, match="API key"):
        make_client().complete(MSG)
    assert len(server.requests) == 1
    server.push(error_status(400, "response_format json_schema is not supported"))
    with pytest.raises(ResponseFormatUnsupportedError):
        make_client().complete(MSG, response_format={"type": "json_schema", "json_schema": {}})


def test_cache_makes_a_rerun_free(server, make_client, tmp_path):
    server.push("answer")
    first = make_client().complete(MSG, prompt_version="p1")
    again = make_client()  # a new process would see the same directory
    second = again.complete(MSG, prompt_version="p1")
    assert second.cached and second.text == "answer" and second.usage == first.usage
    assert len(server.requests) == 1
    assert again.stats.cache_hits == 1 and again.stats.total_tokens == 0
    # Anything that changes the answer changes the key: prompt version, model parameters, messages.
    server.push("v2", "hot")
    assert again.complete(MSG, prompt_version="p2").text == "v2"
    assert again.complete(MSG, prompt_version="p1", temperature=0.7).text == "hot"
    assert len(server.requests) == 3
    again.forget(first.key)
    server.push("fresh")
    assert again.complete(MSG, prompt_version="p1").text == "fresh"


def test_budget_refuses_before_sending(server, make_client):
    server.handler = lambda r: reply("x" * 40)
    client = make_client(budget_tokens=120, cache_dir=None)
    worst = client.estimate(MSG, max_tokens=30)
    assert worst.prompt_tokens > 0
    used = 0
    with pytest.raises(BudgetExceededError, match="budget of 120 tokens"):
        for _ in range(20):
            out = client.complete(MSG, max_tokens=30)
            used += out.usage.total_tokens
    n = len(server.requests)
    assert n >= 1
    assert client.budget.spent_tokens == used <= 120
    # the refused call was never sent
    with pytest.raises(BudgetExceededError):
        client.complete(MSG, max_tokens=30)
    assert len(server.requests) == n


def test_budget_holds_under_concurrency(server, make_client):
    server.handler = lambda r: Scripted(200, "y" * 40, delay=0.05)
    client = make_client(budget_tokens=300, cache_dir=None, max_concurrency=8)

    async def many():
        return await asyncio.gather(*(client.acomplete(MSG, max_tokens=30, cache_key_extra=str(i)) for i in range(20)),
                                    return_exceptions=True)

    results = client.run(many())
    ok = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BudgetExceededError)]
    assert ok and refused and len(ok) + len(refused) == 20
    assert client.budget.spent_tokens <= 300
    assert len(server.requests) == len(ok)


def test_bounded_concurrency(server, make_client):
    active, peak, lock = [0], [0], threading.Lock()

    def handler(req):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.1)
        with lock:
            active[0] -= 1
        return reply("ok")

    server.handler = handler
    client = make_client(max_concurrency=3, cache_dir=None)

    async def many():
        return await asyncio.gather(*(client.acomplete(MSG, cache_key_extra=str(i)) for i in range(9)))

    t0 = time.perf_counter()
    assert len(client.run(many())) == 9
    assert peak[0] == 3
    assert time.perf_counter() - t0 >= 0.3 - 0.05


def test_configuration_from_env(monkeypatch, server):
    monkeypatch.setenv("KGKIT_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_MODEL", "from-openai-env")
    monkeypatch.delenv("KGKIT_LLM_MODEL", raising=False)
    monkeypatch.delenv("KGKIT_LLM_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    client = LLMClient()
    assert client.base_url == server.base_url and client.model == "from-openai-env"
    server.push("hi")
    assert client.complete(MSG).text == "hi"
    assert server.requests[0].body["model"] == "from-openai-env"
    monkeypatch.delenv("OPENAI_MODEL")
    with pytest.raises(ConfigError, match="KGKIT_LLM_MODEL"):
        LLMClient().complete(MSG)


def test_complete_works_inside_a_running_loop(server, make_client):
    server.push("inner")
    client = make_client()

    async def caller():
        return client.complete(MSG)

    assert asyncio.run(caller()).text == "inner"


def test_cost_accounting_per_stage(server, make_client):
    server.push(reply("a", usage={"prompt_tokens": 1000, "completion_tokens": 500}),
                reply("b", usage={"prompt_tokens": 2000, "completion_tokens": 0}))
    client = make_client(price_prompt_per_mtok=1.0, price_completion_per_mtok=4.0, cache_dir=None)
    client.complete(MSG, stage="extract")
    client.complete(MSG, stage="glean")
    d = client.stats.as_dict()
    assert d["stages"]["extract"]["cost"] == pytest.approx(0.003)
    assert d["stages"]["glean"]["prompt_tokens"] == 2000
    assert client.stats.cost == pytest.approx(0.005)


def test_identical_requests_in_flight_are_sent_once(server, make_client):
    server.handler = lambda r: Scripted(200, "shared", delay=0.2)
    client = make_client()

    async def same():
        return await asyncio.gather(*(client.acomplete(MSG) for _ in range(5)))

    results = client.run(same())
    assert [r.text for r in results] == ["shared"] * 5
    assert len(server.requests) == 1 and sum(r.cached for r in results) == 4
    assert client.stats.calls == 1 and client.stats.cache_hits == 4
