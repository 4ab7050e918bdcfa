from django.contrib import admin

from feedesk.core.admin_mixins import ReadOnlyAdmin, ReadOnlyInline
from feedesk.ledger.models import Account, ChainHead, JournalEntry, Posting


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "kind", "role", "currency", "debits", "credits"]
    list_filter = ["organization", "kind", "role"]
    search_fields = ["code", "name"]


class PostingInline(ReadOnlyInline):
    model = Posting
    fields = ["account", "amount"]


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["seq", "code", "effective_date", "recorded_at", "actor", "memo", "organization"]
    list_filter = ["organization", "code"]
    search_fields = ["memo", "idempotency_key"]
    inlines = [PostingInline]


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ["entry", "account", "amount"]


@admin.register(ChainHead)
class ChainHeadAdmin(ReadOnlyAdmin):
    list_display = ["organization", "last_seq", "last_hash"]
