"""The simulated provider: a WeChat Pay v3 look-alike with its own locally generated keys.

It signs notifications with its platform key and encrypts them with the APIv3 key exactly as
WeChat Pay does, and answers v3 queries with signed responses after checking the request's
Authorization signature, so FeeDesk's real WeChat verification code runs against it. Its state
(the provider's side of each transaction) lives in a store: the database for the demo, memory
for the local protocol server the tests start.
"""

import base64
import datetime
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import IntegrityError, transaction

from feedesk.gateways.wechat import SIGNATURE_TYPE, TIMESTAMP_WINDOW

_AUTH = re.compile(r'(\w+)="([^"]*)"')


def new_rsa_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@lru_cache(maxsize=64)
def _private_key(private_key_pem: str) -> Any:
    # Loading checks the RSA key's consistency, which costs tens of milliseconds: once per key.
    return serialization.load_pem_private_key(private_key_pem.encode(), password=None)


@lru_cache(maxsize=64)
def _public_key(public_pem: str) -> Any:
    return serialization.load_pem_public_key(public_pem.encode())


@lru_cache(maxsize=64)
def public_key_pem(private_key_pem: str) -> str:
    # Only the public half is wanted: loaded without the consistency check, which guards
    # signing with the private key (rsa_sign loads it checked) and costs tens of milliseconds.
    key = serialization.load_pem_private_key(
        private_key_pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def new_apiv3_key() -> str:
    return secrets.token_hex(16)  # 32 ASCII characters = the 32-byte AES-256 key WeChat uses


def rsa_sign(private_key_pem: str, message: str) -> str:
    key = _private_key(private_key_pem)
    assert isinstance(key, rsa.RSAPrivateKey)
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(public_pem: str, message: str, signature: str) -> bool:
    key = _public_key(public_pem)
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def aes_gcm_encrypt(apiv3_key: str, plaintext: str, associated_data: str) -> dict[str, str]:
    nonce = secrets.token_hex(6)  # 12 ASCII characters, used as bytes like WeChat's nonce
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(
        nonce.encode(), plaintext.encode(), associated_data.encode()
    )
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


@dataclass(frozen=True)
class SimKeys:
    mchid: str
    appid: str
    merchant_serial: str
    merchant_public_key: str
    platform_key_id: str
    platform_private_key: str
    apiv3_key: str

    def __repr__(self) -> str:
        return f"SimKeys(mchid={self.mchid!r})"


class TransactionStore(Protocol):
    def get(self, out_trade_no: str) -> dict[str, Any] | None: ...

    def save(self, txn: dict[str, Any]) -> None: ...

    def add(self, txn: dict[str, Any]) -> None:
        """Save a transaction that is new (its out_trade_no was just made up)."""


class MemoryStore:
    def __init__(self) -> None:
        self._txns: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, out_trade_no: str) -> dict[str, Any] | None:
        with self._lock:
            txn = self._txns.get(out_trade_no)
            return dict(txn) if txn else None

    def save(self, txn: dict[str, Any]) -> None:
        with self._lock:
            self._txns[txn["out_trade_no"]] = dict(txn)

    add = save


def new_transaction(
    *, out_trade_no: str, amount: int, description: str, notify_url: str = ""
) -> dict[str, Any]:
    return {
        "out_trade_no": out_trade_no,
        "amount": amount,
        "description": description,
        "trade_state": "NOTPAY",
        "transaction_id": "",
        "success_time": "",
        "notify_url": notify_url,
    }


# The provider's states of a transaction the payer has not yet paid or failed.
WAITING = ("NOTPAY", "USERPAYING")


def mark_paid(txn: dict[str, Any]) -> dict[str, Any]:
    if txn["trade_state"] != "SUCCESS":
        txn["trade_state"] = "SUCCESS"
        txn["transaction_id"] = "4200" + time.strftime("%Y%m%d") + f"{secrets.randbelow(10**16):016d}"
        txn["success_time"] = (
            datetime.datetime.now(datetime.UTC)
            .astimezone(datetime.timezone(datetime.timedelta(hours=8)))
            .isoformat(timespec="seconds")
        )
    return txn


class SimPlatform:
    """The provider's logic: resources in WeChat's v3 shape, signed and (for notifications) encrypted."""

    def __init__(self, keys: SimKeys, store: TransactionStore) -> None:
        self.keys = keys
        self.store = store

    def resource(self, txn: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {
            "mchid": self.keys.mchid,
            "appid": self.keys.appid,
            "out_trade_no": txn["out_trade_no"],
            "trade_type": "NATIVE",
            "trade_state": txn["trade_state"],
            "trade_state_desc": {"SUCCESS": "支付成功", "NOTPAY": "未支付", "PAYERROR": "支付失败"}.get(
                txn["trade_state"], txn["trade_state"]
            ),
            "amount": {"total": txn["amount"], "currency": "CNY"},
        }
        if txn["trade_state"] == "SUCCESS":
            data.update(
                transaction_id=txn["transaction_id"],
                success_time=txn["success_time"],
                bank_type="OTHERS",
                payer={"openid": "o-simulated-payer"},
            )
            data["amount"].update(payer_total=txn["amount"], payer_currency="CNY")
        return data

    def signed_headers(self, body: str, *, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(16)
        return {
            "Wechatpay-Serial": self.keys.platform_key_id,
            "Wechatpay-Signature": rsa_sign(self.keys.platform_private_key, f"{ts}\n{nonce}\n{body}\n"),
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        }

    def notification(
        self, txn: dict[str, Any], *, resource: dict[str, Any] | None = None, timestamp: int | None = None
    ) -> tuple[dict[str, str], bytes]:
        """A payment notification exactly as WeChat Pay POSTs it: (headers, body)."""
        plain = json.dumps(resource or self.resource(txn), ensure_ascii=False, separators=(",", ":"))
        succeeded = (resource or txn).get("trade_state") == "SUCCESS"
        body = json.dumps(
            {
                "id": secrets.token_hex(18),
                "create_time": datetime.datetime.now(
                    datetime.timezone(datetime.timedelta(hours=8))
                ).isoformat(timespec="seconds"),
                "resource_type": "encrypt-resource",
                "event_type": "TRANSACTION.SUCCESS" if succeeded else "TRANSACTION.FAIL",
                "summary": "支付成功" if succeeded else "支付失败",
                "resource": {
                    "original_type": "transaction",
                    **aes_gcm_encrypt(self.keys.apiv3_key, plain, "transaction"),
                },
            },
            ensure_ascii=False,
        )
        return self.signed_headers(body, timestamp=timestamp), body.encode()

    # -- the v3 HTTP API ---------------------------------------------------------------
    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: str
    ) -> tuple[int, dict[str, str], bytes]:
        lowered = {k.lower(): v for k, v in headers.items()}
        problem = self._check_authorization(method, path, lowered.get("authorization", ""), body)
        if problem:
            return self._error(401, "SIGN_ERROR", problem)
        route = path.split("?", 1)[0]
        if method == "GET" and (m := re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)", route)):
            txn = self.store.get(unquote(m.group(1)))
            if txn is None:
                return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
            return self._signed(200, self.resource(txn))
        if method == "POST" and (m := re.fullmatch(r"/v3/pay/transactions/(native|h5|jsapi)", route)):
            request = json.loads(body or "{}")
            if request.get("mchid") != self.keys.mchid or request.get("appid") != self.keys.appid:
                return self._error(400, "PARAM_ERROR", "mchid or appid")
            out_trade_no = request["out_trade_no"]
            if self.store.get(out_trade_no) is None:
                self.store.save(
                    new_transaction(
                        out_trade_no=out_trade_no,
                        amount=int(request["amount"]["total"]),
                        description=request.get("description", ""),
                        notify_url=request.get("notify_url", ""),
                    )
                )
            token = secrets.token_hex(8)
            answer = {
                "native": {"code_url": f"weixin://wxpay/bizpayurl?pr={token}"},
                "h5": {"h5_url": f"https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx{token}"},
                "jsapi": {"prepay_id": f"wx{token}"},
            }[m.group(1)]
            return self._signed(200, answer)
        return self._error(404, "NOT_FOUND", "no such API")

    def _check_authorization(self, method: str, path: str, authorization: str, body: str) -> str:
        scheme, _, rest = authorization.partition(" ")
        if scheme != SIGNATURE_TYPE:
            return "authorization scheme"
        fields = dict(_AUTH.findall(rest))
        if fields.get("mchid") != self.keys.mchid or fields.get("serial_no") != self.keys.merchant_serial:
            return "mchid or serial_no"
        try:
            if abs(time.time() - int(fields.get("timestamp", ""))) > TIMESTAMP_WINDOW:
                return "timestamp"
        except ValueError:
            return "timestamp"
        message = f"{method}\n{path}\n{fields['timestamp']}\n{fields.get('nonce_str', '')}\n{body}\n"
        if not rsa_verify(self.keys.merchant_public_key, message, fields.get("signature", "")):
            return "signature"
        return ""

    def _signed(self, status: int, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps(payload, ensure_ascii=False)
        headers = {"Content-Type": "application/json", **self.signed_headers(body)}
        return status, headers, body.encode()

    def _error(self, status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps({"code": code, "message": message}, ensure_ascii=False)
        return status, {"Content-Type": "application/json"}, body.encode()


class ProtocolServer:
    """A tiny local HTTP server speaking the v3 protocol for one SimPlatform (tests, offline demos)."""

    def __init__(self, platform: SimPlatform, host: str = "127.0.0.1", port: int = 0) -> None:
        self.platform = platform
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                status, headers, payload = owner.platform.handle(
                    self.command, self.path, dict(self.headers.items()), body
                )
                owner.requests.append((self.command, self.path, status))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep request lines (and their signatures) out of the logs

        self.requests: list[tuple[str, str, int]] = []
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator["ProtocolServer"]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(timeout=5)


class DatabaseStore:
    """The demo's provider state, one school's SimulatedTransaction rows."""

    FIELDS = ("amount", "description", "trade_state", "transaction_id", "notify_url")

    def __init__(self, organization_id: int) -> None:
        self.organization_id = organization_id

    def get(self, out_trade_no: str) -> dict[str, Any] | None:
        from feedesk.core import sql
        from feedesk.gateways.models import SimulatedTransaction

        names = sql.concrete_names(SimulatedTransaction)
        found = sql.fetch(_get_statement(), [self.organization_id, out_trade_no])
        if not found:
            return None
        row = sql.read(SimulatedTransaction, names, found[0])
        txn = {"out_trade_no": row.out_trade_no, **{f: getattr(row, f) for f in self.FIELDS}}
        txn["success_time"] = (
            row.success_time.astimezone(datetime.timezone(datetime.timedelta(hours=8))).isoformat(
                timespec="seconds"
            )
            if row.success_time
            else ""
        )
        return txn

    def pay_waiting(self, out_trade_no: str) -> dict[str, Any] | None:
        """Mark the transaction paid if it is still waiting for the payer (NOTPAY, USERPAYING), in
        one statement; the paid transaction, or None when there is none waiting."""
        from feedesk.core import sql
        from feedesk.gateways.models import SimulatedTransaction

        paid = mark_paid({"trade_state": "NOTPAY"})
        success_time = datetime.datetime.fromisoformat(paid["success_time"])
        values = sql.prepared_row(
            SimulatedTransaction,
            ("trade_state", "transaction_id", "success_time"),
            [paid["trade_state"], paid["transaction_id"], success_time],
        )
        rows = sql.fetch(_pay_statement(), [*values, self.organization_id, out_trade_no, *WAITING])
        if not rows:
            return None
        amount, description, notify_url = rows[0]
        return {
            "out_trade_no": out_trade_no,
            "amount": amount,
            "description": description,
            "notify_url": notify_url,
            **paid,
        }

    def add(self, txn: dict[str, Any]) -> None:
        from feedesk.gateways.models import SimulatedTransaction

        SimulatedTransaction.objects.create(
            out_trade_no=txn["out_trade_no"], organization_id=self.organization_id, **self._values(txn)
        )

    def _values(self, txn: dict[str, Any]) -> dict[str, Any]:
        success_time = datetime.datetime.fromisoformat(txn["success_time"]) if txn["success_time"] else None
        return {**{f: txn[f] for f in self.FIELDS}, "success_time": success_time}

    def save(self, txn: dict[str, Any]) -> None:
        from feedesk.core import sql
        from feedesk.gateways.models import SimulatedTransaction

        values = self._values(txn)
        changed = sql.prepared_row(SimulatedTransaction, tuple(values), list(values.values()))
        if sql.execute(_save_statement(), [*changed, txn["out_trade_no"], self.organization_id]):
            return
        rows = SimulatedTransaction.objects.filter(
            out_trade_no=txn["out_trade_no"], organization_id=self.organization_id
        )
        try:
            with transaction.atomic():
                SimulatedTransaction.objects.create(
                    out_trade_no=txn["out_trade_no"], organization_id=self.organization_id, **values
                )
        except IntegrityError:  # saved concurrently: this save is the later one
            rows.update(**values)


@lru_cache(maxsize=1)
def _get_statement() -> str:
    from feedesk.core import sql
    from feedesk.gateways.models import SimulatedTransaction

    selected = sql.columns(SimulatedTransaction, sql.concrete_names(SimulatedTransaction), "t")
    return (
        f"SELECT {selected} FROM {SimulatedTransaction._meta.db_table} t "
        "WHERE t.organization_id = %s AND t.out_trade_no = %s"
    )


@lru_cache(maxsize=1)
def _save_statement() -> str:
    from feedesk.gateways.models import SimulatedTransaction

    sets = ", ".join(f"{name} = %s" for name in (*DatabaseStore.FIELDS, "success_time"))
    return (
        f"UPDATE {SimulatedTransaction._meta.db_table} SET {sets} "
        "WHERE out_trade_no = %s AND organization_id = %s"
    )


@lru_cache(maxsize=1)
def _pay_statement() -> str:
    from feedesk.gateways.models import SimulatedTransaction

    return (
        f"UPDATE {SimulatedTransaction._meta.db_table} SET trade_state = %s, transaction_id = %s, "
        "success_time = %s WHERE organization_id = %s AND out_trade_no = %s AND trade_state IN (%s, %s) "
        "RETURNING amount, description, notify_url"
    )
