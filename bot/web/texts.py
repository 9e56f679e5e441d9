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
    "assets": {"en": "Asset register", "zh_CN": "资产台账", "ru": "Реестр оборудования"},
    "asset_search": {
        "en": "Tag, place, model, serial, user or IP",
        "zh_CN": "资产编号、位置、型号、序列号、使用人或IP",
        "ru": "Инв. номер, место, модель, серийный номер, пользователь или IP",
    },
    "all_kinds": {"en": "All types", "zh_CN": "全部类型", "ru": "Все типы"},
    "assets_count": {
        "en": "{shown} of {total} devices",
        "zh_CN": "共 {total} 台，显示 {shown} 台",
        "ru": "{shown} из {total} устройств",
    },
    "assets_none": {
        "en": "No device matches.",
        "zh_CN": "没有符合条件的设备。",
        "ru": "Подходящих устройств нет.",
    },
    "repairs_count": {"en": "Repairs", "zh_CN": "维修次数", "ru": "Ремонты"},
    "repeat_flag": {
        "en": "repeat failure within 30 days",
        "zh_CN": "30天内重复故障",
        "ru": "повторный отказ в течение 30 дней",
    },
    "repeat_of": {"en": "repeats #{id}", "zh_CN": "重复 #{id}", "ru": "повтор №{id}"},
    "in_warranty": {
        "en": "in warranty until {date}",
        "zh_CN": "保修期至 {date}",
        "ru": "на гарантии до {date}",
    },
    "out_of_warranty": {
        "en": "warranty ended {date}",
        "zh_CN": "已过保（{date}）",
        "ru": "гарантия истекла {date}",
    },
    "no_warranty": {
        "en": "no warranty date",
        "zh_CN": "无保修日期",
        "ru": "срок гарантии не указан",
    },
    "inspections": {"en": "Inspections", "zh_CN": "巡检记录", "ru": "Осмотры"},
    "no_inspections": {
        "en": "Not inspected yet.",
        "zh_CN": "尚无巡检记录。",
        "ru": "Осмотров ещё не было.",
    },
    "no_repairs": {"en": "No repairs.", "zh_CN": "无维修记录。", "ru": "Ремонтов не было."},
    "outcome_ok": {"en": "OK", "zh_CN": "正常", "ru": "исправно"},
    "outcome_fault": {"en": "fault", "zh_CN": "故障", "ru": "неисправно"},
    "outcome_skipped": {"en": "skipped", "zh_CN": "跳过", "ru": "пропущено"},
    "retired": {"en": "retired", "zh_CN": "已停用", "ru": "списано"},
    "edit": {"en": "Edit", "zh_CN": "编辑", "ru": "Изменить"},
    "save": {"en": "Save", "zh_CN": "保存", "ru": "Сохранить"},
    "labels_pdf": {
        "en": "QR labels (PDF) for {n} selected",
        "zh_CN": "为所选 {n} 台生成二维码标签（PDF）",
        "ru": "QR-наклейки (PDF) для выбранных: {n}",
    },
    "labels_none": {
        "en": "Select the devices to print labels for.",
        "zh_CN": "请先选择要打印标签的设备。",
        "ru": "Выберите устройства для наклеек.",
    },
    "labels_too_many": {
        "en": "Too many devices for one PDF: select at most 1000.",
        "zh_CN": "一次最多为 1000 台设备生成标签。",
        "ru": "Слишком много устройств для одного PDF: не более 1000.",
    },
    "labels_no_username": {
        "en": "The labels need the bot's username (FAULTDESK_BOT_USERNAME); the bot has not learned it yet.",
        "zh_CN": "生成标签需要机器人的用户名（FAULTDESK_BOT_USERNAME），目前尚未获取。",
        "ru": "Для наклеек нужно имя бота (FAULTDESK_BOT_USERNAME); бот его ещё не узнал.",
    },
    "labels_no_font": {
        "en": "The labels cannot be made: no Chinese font is installed on the server (fonts-wqy-microhei).",
        "zh_CN": "无法生成标签：服务器未安装中文字体（fonts-wqy-microhei）。",
        "ru": "Наклейки не создать: на сервере нет китайского шрифта (fonts-wqy-microhei).",
    },
    "asset_other_site": {
        "en": "This device belongs to another site; its people look after it.",
        "zh_CN": "该设备属于其他网点，由该网点负责。",
        "ru": "Это устройство другой площадки; им занимаются её сотрудники.",
    },
    "asset_edit_admins": {
        "en": "Only administrators change the asset register.",
        "zh_CN": "只有管理员可以修改资产台账。",
        "ru": "Реестр оборудования меняют только администраторы.",
    },
    "bad_value": {
        "en": "{field}: this value cannot be used.",
        "zh_CN": "{field}：该值无效。",
        "ru": "{field}: такое значение недопустимо.",
    },
    "field_department": {"en": "Department", "zh_CN": "部门", "ru": "Отдел"},
    "field_location": {"en": "Location", "zh_CN": "位置", "ru": "Место"},
    "field_user_name": {"en": "User", "zh_CN": "使用人", "ru": "Пользователь"},
    "field_brand": {"en": "Brand", "zh_CN": "品牌", "ru": "Марка"},
    "field_model": {"en": "Model", "zh_CN": "型号", "ru": "Модель"},
    "field_serial": {"en": "Serial no.", "zh_CN": "序列号", "ru": "Серийный номер"},
    "field_monitor_serial": {
        "en": "Monitor serial no.",
        "zh_CN": "显示器序列号",
        "ru": "Серийный номер монитора",
    },
    "field_warranty_until": {"en": "Warranty until", "zh_CN": "保修截止", "ru": "Гарантия до"},
    "field_manufactured_on": {"en": "Made on", "zh_CN": "出厂日期", "ru": "Дата выпуска"},
    "field_health": {"en": "Condition", "zh_CN": "健康状况", "ru": "Состояние"},
    "field_hardware_config": {"en": "Hardware", "zh_CN": "硬件配置", "ru": "Конфигурация"},
    "field_ip_address": {"en": "IP address", "zh_CN": "IP地址", "ru": "IP-адрес"},
    "field_subnet_mask": {"en": "Subnet mask", "zh_CN": "子网掩码", "ru": "Маска подсети"},
    "field_os": {"en": "Operating system", "zh_CN": "操作系统", "ru": "ОС"},
    "field_antivirus": {"en": "Antivirus", "zh_CN": "杀毒软件", "ru": "Антивирус"},
    "field_office_software": {
        "en": "Office software",
        "zh_CN": "办公软件",
        "ru": "Офисные программы",
    },
}


def texts_for(language: str) -> dict[str, str]:
    """Every word of the console in one language (English for an unknown one)."""
    return {key: words.get(language) or words["en"] for key, words in TEXTS.items()}
