"""The console's own words, in every supported language.

Kept here, beside the page that shows them, rather than in the chat's gettext catalogs:
the page receives them as one JSON object in the viewer's language, and a test checks
that every word exists in zh_CN, en and ru. Domain names (states, deadlines, levels,
device types) and error sentences come from the chat's catalogs (`bot.labels`,
`bot.errors`), so the console and the chat name things alike.
"""

from __future__ import annotations

from typing import Final

TEXTS: Final[dict[str, dict[str, str]]] = {
    "title": {"en": "Dispatch board", "zh_CN": "调度看板", "ru": "Доска диспетчера"},
    "ticket_title": {"en": "Ticket #{id}", "zh_CN": "工单 #{id}", "ru": "Заявка №{id}"},
    "open_count": {
        "en": "{open} open · {overdue} overdue",
        "zh_CN": "未结 {open} · 超时 {overdue}",
        "ru": "Открыто {open} · просрочено {overdue}",
    },
    "all_sites": {"en": "All sites", "zh_CN": "全部网点", "ru": "Все площадки"},
    "all_levels": {"en": "All levels", "zh_CN": "全部级别", "ru": "Все уровни"},
    "all_states": {"en": "All states", "zh_CN": "全部状态", "ru": "Все состояния"},
    "all_engineers": {"en": "All engineers", "zh_CN": "全部工程师", "ru": "Все инженеры"},
    "overdue_only": {"en": "Overdue only", "zh_CN": "仅超时", "ru": "Только просроченные"},
    "search": {
        "en": "Ticket no., asset tag or text",
        "zh_CN": "工单号、资产编号或描述",
        "ru": "Номер заявки, инв. номер или текст",
    },
    "level": {"en": "Level", "zh_CN": "级别", "ru": "Уровень"},
    "state": {"en": "State", "zh_CN": "状态", "ru": "Состояние"},
    "assignee": {"en": "Engineer", "zh_CN": "工程师", "ru": "Инженер"},
    "site": {"en": "Site", "zh_CN": "网点", "ru": "Площадка"},
    "device": {"en": "Device", "zh_CN": "设备", "ru": "Устройство"},
    "deadlines": {"en": "Deadlines", "zh_CN": "时限", "ru": "Сроки"},
    "unassigned": {"en": "not assigned", "zh_CN": "未派单", "ru": "не назначен"},
    "paused": {"en": "paused", "zh_CN": "已暂停", "ru": "приостановлено"},
    "missed": {"en": "missed {time} ago", "zh_CN": "已超时 {time}", "ru": "просрочено на {time}"},
    "left": {"en": "{time} left", "zh_CN": "剩余 {time}", "ru": "осталось {time}"},
    "none_open": {
        "en": "No open ticket matches.",
        "zh_CN": "没有符合条件的未结工单。",
        "ru": "Подходящих открытых заявок нет.",
    },
    "more": {"en": "Show {n} more", "zh_CN": "再显示 {n} 条", "ru": "Показать ещё {n}"},
    "assign": {"en": "Assign", "zh_CN": "派单", "ru": "Назначить"},
    "reassign": {"en": "Reassign", "zh_CN": "改派", "ru": "Переназначить"},
    "set_level": {"en": "Set level", "zh_CN": "设定级别", "ru": "Уровень"},
    "cancel": {"en": "Cancel ticket", "zh_CN": "取消工单", "ru": "Отменить заявку"},
    "reason": {"en": "Reason", "zh_CN": "原因", "ru": "Причина"},
    "ok": {"en": "OK", "zh_CN": "确定", "ru": "OK"},
    "close": {"en": "Close", "zh_CN": "关闭", "ru": "Закрыть"},
    "done": {"en": "Done.", "zh_CN": "已完成。", "ru": "Готово."},
    "back": {"en": "← Board", "zh_CN": "← 看板", "ru": "← Доска"},
    "reported": {"en": "Reported", "zh_CN": "报修时间", "ru": "Подана"},
    "reporter": {"en": "Reporter", "zh_CN": "报修人", "ru": "Заявитель"},
    "phone": {"en": "Phone", "zh_CN": "电话", "ru": "Телефон"},
    "location": {"en": "Location", "zh_CN": "位置", "ru": "Место"},
    "symptom": {"en": "Fault", "zh_CN": "故障描述", "ru": "Неисправность"},
    "timeline": {"en": "Timeline", "zh_CN": "处理记录", "ru": "История"},
    "photos": {"en": "Photos", "zh_CN": "照片", "ru": "Фото"},
    "repairs": {"en": "Earlier repairs", "zh_CN": "以往维修", "ru": "Прежние ремонты"},
    "warranty": {"en": "Warranty until", "zh_CN": "保修至", "ru": "Гарантия до"},
    "system": {"en": "system", "zh_CN": "系统", "ru": "система"},
    "due": {"en": "due", "zh_CN": "截止", "ru": "срок"},
    "live": {"en": "live", "zh_CN": "实时", "ru": "онлайн"},
    "offline": {
        "en": "connection lost, retrying",
        "zh_CN": "连接中断，正在重试",
        "ru": "нет связи, повторяем",
    },
    "signed_out": {
        "en": "Your session has ended. Open the console again from the bot (/web).",
        "zh_CN": "会话已结束。请在机器人中重新打开控制台（/web）。",
        "ru": "Сеанс завершён. Откройте консоль снова из бота (/web).",
    },
    "forbidden": {
        "en": "This screen is for dispatchers and managers.",
        "zh_CN": "此页面仅供调度员和经理使用。",
        "ru": "Этот экран для диспетчеров и руководителей.",
    },
    "link_invalid": {
        "en": "This login link is not valid any more: links work once and for a few minutes. Send /web to the bot for a new one.",
        "zh_CN": "此登录链接已失效：链接只能使用一次，且几分钟内有效。请向机器人发送 /web 获取新链接。",
        "ru": "Эта ссылка для входа больше не действует: она работает один раз и несколько минут. Отправьте боту /web, чтобы получить новую.",
    },
    "bad_request": {
        "en": "That request is not valid.",
        "zh_CN": "请求无效。",
        "ru": "Неверный запрос.",
    },
    "server_error": {
        "en": "Something went wrong on the server; nothing was changed. Please try again.",
        "zh_CN": "服务器出错，未做任何更改。请重试。",
        "ru": "Ошибка на сервере; ничего не изменено. Попробуйте ещё раз.",
    },
    "mine_title": {"en": "My tickets", "zh_CN": "我的工单", "ru": "Мои заявки"},
    "mine_none": {
        "en": "No open ticket is assigned to you.",
        "zh_CN": "目前没有派给您的未结工单。",
        "ru": "Открытых заявок на вас нет.",
    },
    "map": {"en": "Map", "zh_CN": "地图", "ru": "Карта"},
    "dashboard": {"en": "Dashboard", "zh_CN": "统计看板", "ru": "Сводка"},
    "now_line": {
        "en": "Now: {open} open · {overdue} overdue · today {opened} opened, {resolved} resolved",
        "zh_CN": "当前：未结 {open} · 超时 {overdue} · 今日新报 {opened}，已解决 {resolved}",
        "ru": "Сейчас: открыто {open} · просрочено {overdue} · сегодня подано {opened}, решено {resolved}",
    },
    "month_kpis": {
        "en": "This month ({month})",
        "zh_CN": "本月（{month}）",
        "ru": "Этот месяц ({month})",
    },
    "score": {
        "en": "On-site support {score}/100 (−{points})",
        "zh_CN": "现场支持 {score}/100（−{points}）",
        "ru": "Поддержка на месте {score}/100 (−{points})",
    },
    "trend": {"en": "Last 12 months", "zh_CN": "近12个月", "ru": "Последние 12 месяцев"},
    "by_site": {
        "en": "By site, this month",
        "zh_CN": "本月各网点",
        "ru": "По площадкам, этот месяц",
    },
    "sheet": {"en": "Service sheet (PDF)", "zh_CN": "服务单（PDF）", "ru": "Сервисный лист (PDF)"},
    "h": {"en": "h", "zh_CN": "小时", "ru": "ч"},
    "min": {"en": "min", "zh_CN": "分", "ru": "мин"},
    "d": {"en": "d", "zh_CN": "天", "ru": "д"},
}


def texts_for(language: str) -> dict[str, str]:
    """Every word of the console in one language (English for an unknown one)."""
    return {key: words.get(language) or words["en"] for key, words in TEXTS.items()}
