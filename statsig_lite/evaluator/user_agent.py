"""User-agent fields for `ua_based` conditions, parsed with ua-parser (loaded on first use).

Both dialects parse with ua-parser:

* legacy (v1 payloads): the `statsig` SDK calls `user_agent_parser.Parse` and pads versions to
  major.minor.patch; reproduced as is.
* core (v2 payloads): statsig-python-core (0.24) parses with its own word-by-word parser. We walk
  ua-parser's ordered rule list ourselves, keep the first result core could also have produced and
  shape it the way core does. Each rule below was read off core 0.24.0 itself (gates probing ~900
  agents); the agents ua-parser cannot be bent to are listed in tests/evaluator/test_user_agent.py.
"""

from __future__ import annotations

import re
from functools import lru_cache

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

    from ua_parser.core import OS, Matcher, UserAgent

_FIELDS = {
    "os_name": "os_name",
    "osname": "os_name",
    "os_version": "os_version",
    "osversion": "os_version",
    "browser_name": "browser_name",
    "browsername": "browser_name",
    "browser_version": "browser_version",
    "browserversion": "browser_version",
}
# uap-core has no iPadOS pattern; the official SDK reads the version from the agent text itself.
_IPADOS = re.compile(r"\biPadOS (\d+)(?:\.(\d+))?(?:\.(\d+))?")

# Core leaves the fields empty for agents over 1000 bytes (Rust `str::len`: UTF-8 bytes, not chars).
_MAX_CORE_BYTES = 1000
# Otherwise core always answers: a name it cannot tell is "Other", a version "0.0.0".
_UNKNOWN_NAME = "Other"
_UNKNOWN_VERSION = "0.0.0"
# The browser names core reports (besides bots and CFNetwork apps, see _core_browser). A ua-parser
# result with another family is skipped and the next ua-parser rule tried, which lands where core
# does: Vivaldi/Brave/Whale -> Chrome, Instagram in an Android web view -> Chrome Mobile WebView,
# curl/python-requests/okhttp -> Other.
_CORE_BROWSERS = frozenset(
    {
        "AdsBot-Google",
        "Amazon Silk",
        "Android",
        "Better Uptime Bot",
        "CFNetwork",
        "ChatGPT",
        "ChatGPT-User",
        "Chrome",
        "Chrome Mobile",
        "Chrome Mobile WebView",
        "Chrome Mobile iOS",
        "Edge",
        "Edge Mobile",
        "Electron",
        "Firefox",
        "Firefox Mobile",
        "Firefox iOS",
        "Google",
        "HeadlessChrome",
        "IE",
        "IE Mobile",
        "Kindle",
        "Mobile Safari",
        "Mobile Safari UI/WKWebView",
        "NetFront NX",
        "OAI-SearchBot",
        "Opera",
        "Opera Mobile",
        "Safari",
        "Samsung Internet",
        "Yahoo! Slurp",
        "Yandex Browser",
        "YisouSpider",
        "axios",
    }
)
_CORE_OS = frozenset(
    {
        "ATV OS X",
        "Android",
        "Chrome OS",
        "Chromecast",
        "Kindle",
        "Linux",
        "Mac OS X",
        "Red Hat",
        "Ubuntu",
        "Windows",
        "Windows Phone",
        "iOS",
    }
)
# Core keeps the version as written, unpadded, up to 4 parts split on "." "_" ","
# ("124.0.6367.29", "17.4", "1.6.7,6468" -> "1.6.7.6468"), but 3 for Opera, Yandex and NetFront.
_MAX_PARTS = 4
_THREE_PART_BROWSERS = frozenset({"Opera", "Opera Mobile", "Yandex Browser", "NetFront NX"})
# ua-parser's rules often stop at 3 parts (HeadlessChrome, Firefox/2.0.0.20); core reads on in that word
_NEXT_PART = re.compile(r"[._,]([^\W_]+)")
# Core names a Windows version only for these (XP, XP, Vista, 7, 8.1, 10); "NT 6.2" (ua-parser "8"),
# "NT 5.0" ("2000"), "Windows 10" or "Windows XP" written out and "Win98" are "0.0.0" to core.
_CORE_WINDOWS_NT = frozenset(
    {"Windows NT 5.1", "Windows NT 5.2", "Windows NT 6.0", "Windows NT 6.1", "Windows NT 6.3", "Windows NT 10.0"}
)
# Core reads whitespace-separated words, trimming these characters off both ends.
_WORD_TRIM = "();,+_"


def part_for_field(field: str) -> str | None:
    return _FIELDS.get(field.lower())


def _legacy_version(parts: dict[str, Any] | None) -> str | None:
    if parts is None:
        return None
    numbers = []
    for key in ("major", "minor", "patch"):
        raw = parts.get(key, "0")
        if raw is None:
            numbers.append(0)
            continue
        try:
            numbers.append(int(raw))
        except ValueError:
            return None
    return "{}.{}.{}".format(*numbers)


def _legacy_parse(agent: str) -> dict[str, str | None]:
    from ua_parser import user_agent_parser  # loaded only when a ua_based condition needs it

    try:
        parsed: dict[str, Any] = user_agent_parser.Parse(agent)  # type: ignore[no-untyped-call]  # untyped compat API
    except Exception:  # ua-parser raises on odd input; the official SDK treats that as "no value"
        return {}
    os_info = parsed.get("os")
    if os_info is not None and os_info.get("major") is None and (m := _IPADOS.search(agent)):
        os_info = {**os_info, "major": m.group(1), "minor": m.group(2), "patch": m.group(3)}
    browser = parsed.get("user_agent")
    return {
        "os_name": (os_info or {}).get("family"),
        "os_version": _legacy_version(os_info),
        "browser_name": (browser or {}).get("family"),
        "browser_version": _legacy_version(browser),
    }


@lru_cache(maxsize=1)
def _rules() -> tuple[list[tuple[Matcher[UserAgent], re.Pattern[str]]], list[tuple[Matcher[OS], re.Pattern[str]]]]:
    """ua-parser's browser and OS rules in order, each with its pattern (we need the match, not only
    the result: groups tell e.g. EdgA from EdgiOS, the span where the version ends)."""
    from ua_parser import load_builtins  # loaded only when a ua_based condition needs it
    from ua_parser.matchers import OSMatcher, UserAgentMatcher

    browsers, systems, _ = load_builtins()
    return (
        [(m, m.pattern if isinstance(m, UserAgentMatcher) else re.compile(m.regex)) for m in browsers],
        [(m, m.pattern if isinstance(m, OSMatcher) else re.compile(m.regex)) for m in systems],
    )


def _parts(*parts: str | None) -> list[str]:
    """Version parts up to the first missing one. A part that is not a number ends the version: core
    keeps the digits of "1b3", so ua-parser's Firefox "3.1.b3" is core's "3.1"."""
    out: list[str] = []
    for part in parts:
        if part is None or (out and not part.isdigit()):
            break
        out.append(part)
    return out


def _join(parts: list[str]) -> str:
    return ".".join(parts) if parts else _UNKNOWN_VERSION


def _words(agent: str) -> list[str]:
    return [word.strip(_WORD_TRIM) for word in agent.split()]


def _product_names(agent: str) -> set[str]:
    """What core takes as product names: each word up to its first "/", ";" or ":"."""
    return {re.split("[/;:]", word, maxsplit=1)[0].strip(_WORD_TRIM) for word in _words(agent)}


def _is_word(agent: str, start: int, end: int, words: tuple[str, ...]) -> bool:
    """Whether the match agent[start:end] is, trimmed, a whole word of the agent."""
    while start > 0 and not agent[start - 1].isspace():
        start -= 1
    while end < len(agent) and not agent[end].isspace():
        end += 1
    return agent[start:end].strip(_WORD_TRIM) in words


def _core_browser(agent: str) -> tuple[str, str]:
    for matcher, pattern in _rules()[0]:
        found = pattern.search(agent)
        if found is None or (result := matcher(agent)) is None:
            continue
        family = result.family
        # ua-parser rules keyed on text core does not read
        if pattern.pattern.startswith("(Trident)"):
            continue  # IE 11 ("Trident/7.0; rv:11.0"): core only knows "MSIE x", so Other
        if family == "Edge Mobile" and found[1] == "EdgA":
            continue  # core does not know Android Edge's "EdgA/": Chrome Mobile
        if family == "Opera" and "Version/" in pattern.pattern:
            continue  # "Opera/9.80 ... Version/12.18": core reports the Opera/ word, 9.80
        if family == "Firefox Mobile" and found[0].startswith("Tablet"):
            family = "Firefox"  # core's "Mobile" names need a "Mobile" word, "Tablet;" is not one
        if family == "Chromium":
            family = "Chrome"  # core has no Chromium and reads the Chrome/ word next to it (same version)
        # "App/1.2 CFNetwork/... Darwin/...": core names the app and its version
        cfnetwork_app = " CFNetwork" in pattern.pattern and family == found[1]
        # core reports a product word naming a bot or crawler as it is written ("Googlebot")
        bot = any(w in family for w in ("bot", "Bot", "crawler", "Crawler")) and family in _product_names(agent)
        if not (family in _CORE_BROWSERS or cfnetwork_app or bot):
            continue
        parts = _parts(result.major, result.minor, result.patch, result.patch_minor)
        if bot and f"{family}/" not in agent:
            parts = []  # core reads a bot's version only from "Name/1.2": "Slackbot 1.0" is 0.0.0
        last = len(parts) + 1  # group 1 is the name, the version parts follow
        if 0 < len(parts) < _MAX_PARTS and last <= pattern.groups and found[last] == parts[-1]:
            end = found.end(last)
            while len(parts) < _MAX_PARTS and (following := _NEXT_PART.match(agent, end)):
                parts.append(following[1])
                end = following.end()
        if family in _THREE_PART_BROWSERS:
            parts = parts[:3]
        return family, _join(parts)
    # no browser core knows, but an iPhone/iPad/"iOS" word (native iOS app agents): core's iOS web view
    if any(word.startswith(("iPhone", "iPad")) or word == "iOS" for word in _words(agent)):
        return "Mobile Safari UI/WKWebView", _UNKNOWN_VERSION
    return _UNKNOWN_NAME, _UNKNOWN_VERSION


def _core_os(agent: str) -> tuple[str, str]:
    for matcher, pattern in _rules()[1]:
        found = pattern.search(agent)
        if found is None or (result := matcher(agent)) is None:
            continue
        family = result.family
        if "CFNetwork" in pattern.pattern:
            return "iOS", _UNKNOWN_VERSION  # core: CFNetwork means iOS, and it maps no Darwin versions
        if family not in _CORE_OS:
            continue  # Fedora, FreeBSD, Tizen...: the next rule (Linux) or Other, like core
        parts = _parts(result.major, result.minor, result.patch, result.patch_minor)
        if family == "Linux":
            start, end = found.span(1) if pattern.groups else found.span()
            if not _is_word(agent, start, end, ("Linux", "linux")):
                continue  # core needs the word: not "(x86_64-pc-linux-gnu)" nor "Linux/SmartTV"
            parts = []  # and never gives Linux a version
        elif family == "Red Hat":
            if "Red Hat" not in found[0]:
                continue  # "(x86_64-redhat-linux-gnu)" is not Red Hat to core
            parts = []  # nor Red Hat a version
        elif family == "iOS" and "Version/" in pattern.pattern:
            parts = []  # core reads iOS versions from "iPhone OS x", "CPU OS x", "iOS x"; not Safari's Version/
        elif family == "Windows" and found[0] not in _CORE_WINDOWS_NT:
            parts = []
        return family, _join(parts)
    return _UNKNOWN_NAME, _UNKNOWN_VERSION


def _core_parse(agent: str) -> dict[str, str | None]:
    if len(agent.encode("utf-8", "surrogatepass")) > _MAX_CORE_BYTES:
        return {}
    os_name, os_version = _core_os(agent)
    browser_name, browser_version = _core_browser(agent)
    return {
        "os_name": os_name,
        "os_version": os_version,
        "browser_name": browser_name,
        "browser_version": browser_version,
    }


# Huge agents: ua-parser's ~600 rules scan the whole text (a 1 MB agent took ~3 s in the legacy dialect, and
# the cache below would keep 2048 of them). Core never parses past 1000 bytes (above), so its answer is
# exact; the legacy SDK parses any length, so an agent over this many characters is a documented
# divergence: "cannot be parsed" (no value), as ua-parser's own failures are, with one log line.
MAX_LEGACY_CHARS = 2000
_reported: list[bool] = []


def parse(agent: str, legacy: bool) -> dict[str, str | None]:
    """os/browser name and version of a user agent (empty when it cannot be parsed)."""
    if len(agent) > (MAX_LEGACY_CHARS if legacy else _MAX_CORE_BYTES):  # never parsed nor cached
        if legacy and not _reported:
            _reported.append(True)
            from .._log import get_logger  # the one log line; the rare path only

            get_logger(__name__).warning(
                "statsig_lite: a %d-character user agent is not parsed (limit %d): ua_based fields have no value",
                len(agent), MAX_LEGACY_CHARS)
        return {}
    return _parse(agent, legacy)


@lru_cache(maxsize=2048)
def _parse(agent: str, legacy: bool) -> dict[str, str | None]:
    return _legacy_parse(agent) if legacy else _core_parse(agent)
