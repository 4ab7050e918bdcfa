"""A code sender for tests: what a text-message service would have delivered."""

SENT: list[dict[str, str]] = []


def capture(*, phone: str, code: str, purpose: str, school: str) -> None:
    SENT.append({"phone": phone, "code": code, "purpose": purpose, "school": school})
