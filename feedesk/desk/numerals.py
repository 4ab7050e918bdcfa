"""Amounts in Chinese capital numerals (大写金额), as printed on receipts."""

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ["", "拾", "佰", "仟"]
BIG_UNITS = ["", "万", "亿", "兆"]


def _group(value: int) -> str:
    """0 < value < 10000 → e.g. 5760 → 伍仟柒佰陆拾, 1005 → 壹仟零伍."""
    text = ""
    zero = False
    for position in range(3, -1, -1):
        digit = value // 10**position % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += DIGITS[digit] + SMALL_UNITS[position]
    return text


def _integer(value: int) -> str:
    if value == 0:
        return ""
    groups = []
    while value:
        groups.append(value % 10_000)
        value //= 10_000
    text = ""
    pending_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            pending_zero = bool(text)
            continue
        if text and (pending_zero or group < 1000):
            text += "零"
        text += _group(group) + BIG_UNITS[index]
        pending_zero = False
    return text


def rmb_upper(fen: int) -> str:
    """12850 → 人民币壹佰贰拾捌元伍角整; 576000 → 人民币伍仟柒佰陆拾元整; negative → 负…"""
    sign = "负" if fen < 0 else ""
    fen = abs(fen)
    yuan, rest = divmod(fen, 100)
    jiao, cents = divmod(rest, 10)
    if fen == 0:
        return "人民币零元整"
    text = _integer(yuan)
    if text:
        text += "元"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif cents and yuan:
        text += "零"
    if cents:
        text += DIGITS[cents] + "分"
    else:
        text += "整"
    return f"人民币{sign}{text}"
