"""Whether server-driven sampling applies is decided once per rules loaded: from those rules' sdk_configs, even
when the first exposure logged after a reload was evaluated (on another thread) against the rules before it."""

from __future__ import annotations

import json

from statsig_lite import StatsigOptions, StatsigServer, StatsigUser
from statsig_lite.evaluator.evaluate import Evaluation
from tests.differential.specs import cond, gate, payload, rule


def _server(sampling: str) -> StatsigServer:
    rules = payload([gate("g", [rule("r", [cond("public")], samplingRate=1)])],
                    sdk_configs={"sampling_mode": sampling, "special_case_sampling_rate": 1})
    server = StatsigServer()
    server.initialize("secret-test", StatsigOptions(bootstrap_values=json.dumps(rules), local_mode=True,
                                                    tier="production"))
    return server


def test_an_exposure_evaluated_before_a_reload_does_not_decide_sampling_for_the_new_rules() -> None:
    server, newer = _server("none"), _server("on")
    try:
        user = StatsigUser(user_id="u")
        before = server._loaded
        assert before is not None and newer._loaded is not None
        ev = Evaluation(before.snapshot, user, None, before.init_time).run(before.snapshot.gates["g"])
        server._loaded = newer._loaded  # a refresh lands between the check's evaluation and its log
        server._quiet = False  # local mode builds no exposure; the decision is what is looked at here
        server._log("gate", "g", ev, user)
        assert server._log_context is not None and server._log_context[0] is newer._loaded
        assert server._log_context[1] is True  # the new rules sample
    finally:
        server.shutdown()
        newer.shutdown()
