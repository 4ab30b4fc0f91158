"""What `initialize` loads on Lambda and what waits for the first flush: the journal opens at init (it adopts a
dead process's records) without pathlib (and the urllib.parse and ipaddress it imports, ~0.6 MiB of RSS), and
zlib loads when a batch is first compressed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.test_cold_path import EXAMPLE, run_child

LATER = ("pathlib", "urllib.parse", "ipaddress", "zlib")


def test_initialize_and_a_check_leave_the_delivery_modules_for_the_first_flush(tmp_path: Path,
                                                                             statsig_api: Any) -> None:
    (tmp_path / "dcs.json").write_text(EXAMPLE)
    result = run_child(
        f"""
        import json, sys
        from statsig_lite import StatsigOptions, StatsigUser, statsig

        text = open({str(tmp_path / "dcs.json")!r}).read()
        before = set(sys.modules)
        statsig.initialize("secret-footprint", StatsigOptions(
            bootstrap_values=text, api={statsig_api.url!r}, id_lists=False, lambda_mode=True,
            journal_dir={str(tmp_path / "journal")!r}))
        statsig.check_gate(StatsigUser(user_id="u1"), "new_checkout")
        at_init = sorted(m for m in {LATER!r} if m in sys.modules and m not in before)
        result = statsig.flush()
        after_flush = sorted(m for m in {LATER!r} if m in sys.modules)
        print(json.dumps({{"at_init": at_init, "after_flush": after_flush, "sent": result.sent,
                          "sandbox": open({str(tmp_path / "journal" / ".sandbox")!r}).read()}}))
        """
    )
    assert result["at_init"] == []
    assert "zlib" in result["after_flush"] and result["sent"] == 1
    assert len(result["sandbox"]) == 8  # the journal opened at init and kept its sandbox id
    assert [e["eventName"] for e in statsig_api.events()] == ["statsig::gate_exposure"]
