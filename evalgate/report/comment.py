"""The sticky pull-request comment: one comment per pull request, updated in place.

On every push the same comment changes (found by a hidden marker), so a reviewer reads
the current verdicts, the change class and its reasons, what the run spent and saved,
the cases that flipped against the baseline, and a link to the run's artifact — and the
thread does not fill with bot comments. Three REST calls of GitHub's issues API are used:
list a pull request's comments, create one, update one.

A fork's pull request gets a read-only token: GitHub answers 403. That is not the gate's
business — the caller says so in the step summary and the job's result stands. The token
goes only into the Authorization header; error text is redacted and cut short.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import requests

from evalgate.document import ResultsDocument, SuiteReport
from evalgate.redact import SECRETS
from evalgate.report.cost import amount, total_line
from evalgate.report.table import ICONS, percent, urgency
from evalgate.untrusted import code_span, markdown_text, one_line

MARKER = "<!-- evalgate:sticky-comment -->"
"""Hidden in the comment's first line; how the comment is found again."""
LIMIT = 60_000
"""Characters a comment may take (GitHub refuses bodies over 65,536)."""
FLIPS_SHOWN = 10


class CommentRefused(Exception):
    """GitHub would not take the comment (a fork's read-only token, a missing permission)."""


def comment_markdown(document: ResultsDocument, run_url: str | None = None) -> str:
    """The comment's body: verdicts, plan, cost, flipped cases, and the run's link."""
    suites = sorted(document.suites, key=urgency)
    blocking = [s.suite for s in suites if s.blocks_merge]
    ran = [s for s in suites if s.verdict != "SKIPPED"]
    if blocking:
        head = f"❌ {len(blocking)} of {len(ran)} gate(s) block the merge"
    else:
        head = f"✅ all {len(ran)} gate(s) pass" if ran else "⏭️ no gate ran"
    lines = [MARKER, f"### evalgate: {head}", ""]
    if document.plan is not None:
        plan = document.plan
        lines.append(f"**Change:** {markdown_text(plan.change)} → tier {code_span(plan.tier or 'none')}")
        lines += [f"- {markdown_text(reason)}" for reason in plan.reasons[:8]]
        if len(plan.reasons) > 8:
            lines.append(f"- … and {len(plan.reasons) - 8} more")
        lines.append("")
    else:
        lines += [f"**Tier:** {code_span(document.tier)}", ""]
    lines += ["| suite | verdict | pass rate | interval | cases | tokens · cost |", "|---|---|---|---|---|---|"]
    lines += [_row(suite) for suite in suites]
    lines.append("")
    saved = sum(s.calls_saved.cache + s.calls_saved.sampling + s.calls_saved.early_stop for s in suites)
    calls = sum(s.model_calls for s in suites)
    money = total_line({s.suite: s.cost for s in suites if s.cost is not None})
    lines.append(f"Model calls: {calls} made, {saved} saved (cache, sampling, early stopping)."
                 + (f" {markdown_text(money)}." if money else ""))
    flips = _flips(suites)
    if flips:
        lines += ["", "<details><summary>Cases that flipped against the baseline</summary>", "", *flips, "", "</details>"]
    if run_url:
        lines += ["", f"[The run, its reports artifact and every case]({run_url})"]
    body = "\n".join(lines)
    if len(body) > LIMIT:
        cut = body[:LIMIT].rsplit("\n", 1)[0]
        body = cut + ("\n\n</details>" if cut.count("<details>") > cut.count("</details>") else "")
        body += "\n\n(cut short: the full report is in the run's artifact)"
    return body


def _row(suite: SuiteReport) -> str:
    low, high = suite.interval
    cells = [
        code_span(suite.suite, table=True),
        f"{ICONS.get(suite.verdict, '')} {suite.verdict}",
        percent(suite.pass_rate),
        f"[{percent(low)}, {percent(high)}]",
        f"{suite.counted}/{suite.population}",
        _cost_cell(suite),
    ]
    return "| " + " | ".join(cells) + " |"


def _cost_cell(suite: SuiteReport) -> str:
    cost = suite.cost
    if cost is None or (cost.input_tokens is None and cost.cached_input_tokens is None):
        return "not reported" if cost is not None and cost.calls else "—"
    spent = (cost.input_tokens or 0) + (cost.output_tokens or 0)
    cell = f"{spent:,} tokens"
    if cost.spent is not None and cost.price is not None:
        cell += f" · {markdown_text(amount(cost.spent, cost.price.currency))}"
    return cell


def _flips(suites: list[SuiteReport]) -> list[str]:
    lines = []
    for suite in suites:
        if suite.baseline is None:
            continue
        against = f" (vs {markdown_text(suite.baseline.source)})" if suite.baseline.source else ""
        for kind, cases in (("now failing", suite.baseline.worse_cases), ("now passing", suite.baseline.better_cases)):
            if cases:
                shown = ", ".join(code_span(case) for case in cases[:FLIPS_SHOWN])
                more = f" and {len(cases) - FLIPS_SHOWN} more" if len(cases) > FLIPS_SHOWN else ""
                lines.append(f"- {code_span(suite.suite)} {kind}: {shown}{more}{against}")
    return lines


@dataclass(frozen=True)
class PullRequest:
    """Where the comment goes: ``api`` (GITHUB_API_URL), ``repository`` (owner/name), ``number``."""

    api: str
    repository: str
    number: int


def post_sticky(target: PullRequest, token: str, body: str, timeout: float = 30) -> str:
    """Create the comment or update the one already there; ``created`` or ``updated``."""
    session = requests.Session()
    session.trust_env = True
    session.headers.update({
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    })
    base = target.api.rstrip("/")
    me = _identity(session, target, timeout)
    url: str | None = f"{base}/repos/{target.repository}/issues/{target.number}/comments?per_page=100"
    existing = None
    while url and existing is None and me is not None:
        response = _call(session, "GET", url, timeout)
        existing = next((c for c in response.json() if MARKER in str(c.get("body", "")) and _author(c) in me), None)
        url = response.links.get("next", {}).get("url")
    if existing is not None:
        _call(session, "PATCH", f"{base}/repos/{target.repository}/issues/comments/{existing['id']}", timeout, {"body": body})
        return "updated"
    _call(session, "POST", f"{base}/repos/{target.repository}/issues/{target.number}/comments", timeout, {"body": body})
    return "created"


def _identity(session: requests.Session, target: PullRequest, timeout: float) -> frozenset[str] | None:
    """The logins the token's comments carry (``github-actions`` writes as ``github-actions[bot]``),
    from GraphQL's ``viewer``; None when GitHub does not say (then no comment is edited)."""
    graphql = os.environ.get("GITHUB_GRAPHQL_URL") or target.api.rstrip("/") + "/graphql"
    try:
        response = session.post(graphql, json={"query": "query { viewer { login } }"}, timeout=timeout)
        login = response.json()["data"]["viewer"]["login"] if response.ok else None
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None
    if not isinstance(login, str) or not login:
        return None
    return frozenset({login, f"{login}[bot]", login.removesuffix("[bot]")})


def _author(comment: dict[str, object]) -> str:
    user = comment.get("user")
    return str(user.get("login", "")) if isinstance(user, dict) else ""


def _call(session: requests.Session, method: str, url: str, timeout: float, body: dict[str, str] | None = None) -> requests.Response:
    try:
        response = session.request(method, url, json=body, timeout=timeout)
    except requests.RequestException as err:
        raise CommentRefused(f"cannot reach GitHub's API ({type(err).__name__})") from None
    if response.status_code >= 400:
        try:
            said = str(response.json().get("message", ""))
        except (ValueError, AttributeError):
            said = response.text
        excerpt = one_line(SECRETS(said), limit=200)
        raise CommentRefused(f"GitHub answered {response.status_code} to {method} {one_line(url.split('?')[0])}: {excerpt}")
    return response
