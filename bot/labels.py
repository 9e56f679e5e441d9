"""Translatable names of the domain's codes (states, clocks, levels, service-sheet choices)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.i18n import N_, NC_, InContext, Translator
from core.enums import AssetKind, Impact, ServiceResult, ServiceType, TicketStatus

STATUS = {
    TicketStatus.REPORTED: N_("waiting for dispatch"),
    TicketStatus.ASSIGNED: N_("dispatched"),
    TicketStatus.ACKNOWLEDGED: N_("accepted by the engineer"),
    TicketStatus.EN_ROUTE: N_("engineer on the way"),
    TicketStatus.ON_SITE: N_("engineer on site"),
    TicketStatus.PAUSED: N_("paused"),
    TicketStatus.RESTORED: N_("service restored"),
    TicketStatus.RESOLVED: N_("resolved"),
    TicketStatus.CLOSED: N_("closed"),
    TicketStatus.REOPENED: N_("reopened for a second visit"),
    TicketStatus.CANCELLED: N_("cancelled"),
}

# Deadline names have their own context: "service restored" as a deadline is still to
# come, while the status of the same words is done (zh: 恢复服务 vs 已恢复服务).
CLOCK = {
    "acknowledge": NC_("deadline", "acceptance"),
    "arrival": NC_("deadline", "arrival on site"),
    "restore": NC_("deadline", "service restored"),
    "resolve": NC_("deadline", "full fix"),
}

SEVERITY = {
    1: N_("Level 1 (critical)"),
    2: N_("Level 2 (major)"),
    3: N_("Level 3 (minor)"),
    4: N_("Level 4 (low)"),
}

IMPACT = {
    Impact.BUSINESS_STOPPED: N_("Work has stopped or data is lost"),
    Impact.CANNOT_WORK: N_("I cannot do my work with it"),
    Impact.DEGRADED: N_("It works badly, I can still work"),
    Impact.INTERMITTENT: N_("Now and then / minor"),
}

ASSET_KIND = {
    AssetKind.PC: N_("Desktop PC"),
    AssetKind.LAPTOP: N_("Laptop"),
    AssetKind.PRINTER: N_("Printer"),
    AssetKind.SCANNER: N_("Scanner"),
    AssetKind.PROJECTOR: N_("Projector"),
    AssetKind.TV: N_("TV / display"),
    AssetKind.MICROPHONE: N_("Microphone"),
    AssetKind.CONFERENCE_TERMINAL: N_("Conference terminal"),
    AssetKind.AMPLIFIER: N_("Amplifier"),
    AssetKind.CENTRAL_CONTROL: N_("Central control"),
    AssetKind.OTHER: N_("Other equipment"),
}

SERVICE_TYPE = {
    ServiceType.HARDWARE_FAULT: N_("Hardware fault"),
    ServiceType.SOFTWARE_FAULT: N_("Software fault"),
    ServiceType.HARDWARE_INSTALL: N_("Hardware installation"),
    ServiceType.NETWORK: N_("Network maintenance"),
    ServiceType.NO_FAULT: N_("No fault found"),
    ServiceType.OTHER: N_("Other"),
}

SERVICE_RESULT = {
    ServiceResult.FIXED_ON_SITE: N_("Fixed on site"),
    ServiceResult.TAKEN_BACK: N_("Taken back for repair"),
    ServiceResult.SECOND_VISIT: N_("Second visit needed"),
    ServiceResult.FIXED_REMOTELY: N_("Fixed remotely"),
}

SATISFACTION = {
    1: N_("Very dissatisfied"),
    2: N_("Dissatisfied"),
    3: N_("Average"),
    4: N_("Satisfied"),
    5: N_("Very satisfied"),
}

# Operations that may lose data, for which the reporter confirms a backup (000 §2.2.1-3).
BACKUP_OPERATION = {
    "os_reinstall": N_("reinstall the operating system"),
    "disk_format": N_("format the disk"),
    "disk_swap": N_("replace the disk"),
}

PAUSE_REASON = {
    "reporter": N_("waiting for the reporter"),
    "parts": N_("waiting for parts"),
    "vendor": N_("waiting for the vendor"),
}

ROLE = {
    "staff": N_("staff"),
    "engineer": N_("engineer"),
    "dispatcher": N_("dispatcher"),
    "manager": N_("manager"),
    "admin": N_("administrator"),
}


def label(t: Translator, table: Mapping[Any, str | InContext], key: object) -> str:
    """The translated label of `key`, or the key itself when unknown."""
    message = table.get(key)
    return t(message) if message else str(key)
