"""The canonical financial data model, one module per domain."""

from .budgets import Budget, BudgetLine, ScenarioDriver
from .finance import Account, Currency, Department, FxRate, GLLine, Invoice
from .ingestion import IngestBatch, RejectedRecord
from .locks import PeriodLock, PeriodLockEvent, PostCloseAdjustment
from .marketing import Campaign, CampaignSpend, Channel, Contact, Touchpoint
from .product import Initiative, InitiativeBenefit, InitiativeCost
from .sales import Deal, Quota, SalesRep, SalesTeam
from .subscriptions import Customer, SubscriptionEvent

__all__ = [
    "Account",
    "Budget",
    "BudgetLine",
    "Campaign",
    "CampaignSpend",
    "Channel",
    "Contact",
    "Currency",
    "Customer",
    "Deal",
    "Department",
    "FxRate",
    "GLLine",
    "IngestBatch",
    "Initiative",
    "InitiativeBenefit",
    "InitiativeCost",
    "Invoice",
    "PeriodLock",
    "PeriodLockEvent",
    "PostCloseAdjustment",
    "Quota",
    "RejectedRecord",
    "SalesRep",
    "SalesTeam",
    "ScenarioDriver",
    "SubscriptionEvent",
    "Touchpoint",
]
