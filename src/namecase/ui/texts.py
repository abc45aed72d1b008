"""Every word the settings page shows, in Russian and English (the portal's LANG decides)."""

from __future__ import annotations

from typing import Final

from namecase.i18n import Language
from namecase.names import RULE_TEXT

TEXT: Final[dict[Language, dict[str, str]]] = {
    "en": {
        "title": "Name case",
        "subtitle": "Keeps the names of contacts and leads in proper case.",
        "onboarding_title": "How it works",
        "onboarding_1": "When someone adds or edits a contact, this app checks the first, middle "
        "and last name and fixes the letter case within seconds: “иВАН ПЕТРОВ” becomes "
        "“Иван Петров”, “mcdonald” becomes “McDonald”.",
        "onboarding_2": "Only the case and extra spaces change, plus one kind of letter: a "
        "Latin letter that looks like a Cyrillic one inside a Cyrillic name (a Latin “o” in "
        "“Смирнoв”), or the reverse, is replaced by its look-alike, so that search and "
        "duplicate checks find the name. You can turn that off below; no other letter is ever "
        "changed.",
        "onboarding_3": "Every correction appears below with the reason. If one is wrong, press "
        "“Undo”: the name goes back to how it was typed, and the app will leave it alone.",
        "onboarding_4": "To fix names that were already in the CRM before you installed the app, "
        "press “Fix existing records”.",
        "onboarding_5": "Not sure yet? Turn on “Trial mode”: the app only lists what it would "
        "change.",
        "admin_only": "Only a Bitrix24 administrator can change these settings.",
        "read_only": "Only a Bitrix24 administrator can change these settings, undo corrections "
        "or fix existing records. You can look at them here.",
        "settings": "Settings",
        "enabled": "Correct names automatically",
        "entities": "Where",
        "entity_contact": "Contacts",
        "entity_lead": "Leads",
        "fields": "Which fields",
        "field_NAME": "First name",
        "field_SECOND_NAME": "Middle name",
        "field_LAST_NAME": "Last name",
        "dry_run": "Trial mode: only list what would change, write nothing",
        "history_for_everyone": "Show the recent corrections to every user of the app, not only "
        "to administrators (they contain contacts' and leads' names)",
        "history_admins_only": "Only Bitrix24 administrators see the recent corrections: they "
        "contain the names of contacts and leads.",
        "options": "Name rules",
        "particles": "Write particles in lowercase (van, von, de, оглы)",
        "keep_latin_mixed_case": "Keep Latin names with mixed case as typed (DeVito, LaToya)",
        "fix_lookalikes": "Replace look-alike letters of the other alphabet (a Latin “o” in "
        "“Смирнoв”, a Cyrillic “о” in “Jоhn”)",
        "saved": "Saved",
        "saving": "Saving…",
        "save_failed": "Not saved",
        "need_one_entity": "Choose at least one: contacts or leads.",
        "need_one_field": "Choose at least one field.",
        "backfill": "Fix existing records",
        "backfill_hint": "Goes through all records once and corrects their names. It runs in "
        "the background; you can close this page.",
        "backfill_start": "Fix existing records",
        "backfill_running": "Checking records…",
        "backfill_done": "Done.",
        "backfill_idle": "Not run yet.",
        "backfill_off": "Turn on automatic correction first.",
        "backfill_already": "Already running.",
        "scanned": "checked",
        "of": "of",
        "queued": "to fix",
        "fixed": "corrected",
        "pending": "waiting",
        "history": "Recent corrections",
        "history_empty": "No corrections yet. Add a contact named “иван иванов” to see one.",
        "when": "When",
        "record": "Record",
        "field": "Field",
        "change": "Before → after",
        "why": "Why",
        "undo": "Undo",
        "undo_selected": "Undo selected",
        "undone": "Undone",
        "trial": "trial, not written",
        "more": "Show more",
        "undo_done": "Restored {n}.",
        "undo_skipped": "Skipped {n}: changed since or already undone.",
        "undo_failed": "Bitrix24 did not accept the change; try again.",
        "expired": "This page has been open too long. Reopen the app to continue.",
        "error": "Something went wrong; try again.",
        "state_auth_failed": "The app has lost access to your Bitrix24. Reinstall it to resume.",
        "state_payment_required": "Bitrix24 reports that the app's subscription has ended.",
        "forbidden_title": "This page opens only inside your Bitrix24",
        "forbidden_body": "Open the app from the Bitrix24 menu. If it was just installed, "
        "reopen it.",
        "contact": "Contact",
        "lead": "Lead",
        "summary": "What the app did",
        "corrected_7d": "names corrected in 7 days",
        "corrected_30d": "names corrected in 30 days",
        "checked": "records checked in {days} days",
        "trial_30d": "In trial mode, {n} more would have been corrected in 30 days.",
        "summary_hint": "Records checked are those the app read after someone changed them, "
        "or while fixing existing records.",
        "open_record": "Open in Bitrix24",
        "events_offline": "Changes reach the app through a queue Bitrix24 keeps for it: nothing "
        "is missed while the app is unavailable, and the app's own corrections do not come back "
        "to it.",
        "events_offline_clear": "Changes reach the app through a queue Bitrix24 keeps for it; "
        "the app's own corrections do not come back to it.",
        "events_online": "Bitrix24 sends each change to the app as it happens; changes made "
        "while the app was unavailable are found by a regular check.",
    },
    "ru": {
        "title": "Регистр имён",
        "subtitle": "Следит, чтобы имена в контактах и лидах были написаны правильно.",
        "onboarding_title": "Как это работает",
        "onboarding_1": "Когда кто-то добавляет или меняет контакт, приложение проверяет имя, "
        "отчество и фамилию и за несколько секунд исправляет регистр: «иВАН ПЕТРОВ» станет "
        "«Иван Петров», «mcdonald» — «McDonald».",
        "onboarding_2": "Меняются только заглавные и строчные буквы и лишние пробелы, а из самих "
        "букв — только одно: латинская буква, похожая на русскую, внутри русского имени "
        "(латинская «o» в «Смирнoв») или наоборот заменяется похожей буквой нужного алфавита, "
        "чтобы имя находилось поиском и проверкой дублей. Это можно выключить ниже; другие "
        "буквы не меняются никогда.",
        "onboarding_3": "Каждое исправление появляется ниже с причиной. Если оно неверно, "
        "нажмите «Отменить»: имя вернётся к тому, как его ввели, и приложение больше его не "
        "тронет.",
        "onboarding_4": "Чтобы исправить имена, которые были в CRM до установки, нажмите "
        "«Исправить существующие записи».",
        "onboarding_5": "Хотите сначала посмотреть? Включите «Пробный режим»: приложение только "
        "покажет, что изменило бы.",
        "admin_only": "Изменять эти настройки может только администратор Битрикс24.",
        "read_only": "Изменять настройки, отменять исправления и исправлять существующие записи "
        "может только администратор Битрикс24. Здесь их можно посмотреть.",
        "settings": "Настройки",
        "enabled": "Исправлять имена автоматически",
        "entities": "Где",
        "entity_contact": "Контакты",
        "entity_lead": "Лиды",
        "fields": "Какие поля",
        "field_NAME": "Имя",
        "field_SECOND_NAME": "Отчество",
        "field_LAST_NAME": "Фамилия",
        "dry_run": "Пробный режим: только показывать, что изменится, ничего не записывать",
        "history_for_everyone": "Показывать последние исправления всем пользователям "
        "приложения, а не только администраторам (в них имена контактов и лидов)",
        "history_admins_only": "Последние исправления видят только администраторы Битрикс24: "
        "в них имена контактов и лидов.",
        "options": "Правила",
        "particles": "Писать частицы строчными (ван, фон, де, оглы)",
        "keep_latin_mixed_case": "Не трогать латинские имена со смешанным регистром "
        "(DeVito, LaToya)",
        "fix_lookalikes": "Заменять похожие буквы другого алфавита (латинская «o» в «Смирнoв», "
        "русская «о» в «Jоhn»)",
        "saved": "Сохранено",
        "saving": "Сохраняем…",
        "save_failed": "Не сохранено",
        "need_one_entity": "Выберите хотя бы одно: контакты или лиды.",
        "need_one_field": "Выберите хотя бы одно поле.",
        "backfill": "Исправить существующие записи",
        "backfill_hint": "Один раз проходит по всем записям и исправляет имена. Работает в "
        "фоне — страницу можно закрыть.",
        "backfill_start": "Исправить существующие записи",
        "backfill_running": "Проверяем записи…",
        "backfill_done": "Готово.",
        "backfill_idle": "Ещё не запускалось.",
        "backfill_off": "Сначала включите автоматическое исправление.",
        "backfill_already": "Уже выполняется.",
        "scanned": "проверено",
        "of": "из",
        "queued": "к исправлению",
        "fixed": "исправлено",
        "pending": "в очереди",
        "history": "Последние исправления",
        "history_empty": "Исправлений пока нет. Добавьте контакт «иван иванов», чтобы увидеть "
        "первое.",
        "when": "Когда",
        "record": "Запись",
        "field": "Поле",
        "change": "Было → стало",
        "why": "Почему",
        "undo": "Отменить",
        "undo_selected": "Отменить выбранные",
        "undone": "Отменено",
        "trial": "пробный режим, не записано",
        "more": "Показать ещё",
        "undo_done": "Восстановлено: {n}.",
        "undo_skipped": "Пропущено: {n} — изменены после исправления или уже отменены.",
        "undo_failed": "Битрикс24 не принял изменение; попробуйте ещё раз.",
        "expired": "Страница открыта слишком долго. Откройте приложение заново.",
        "error": "Что-то пошло не так; попробуйте ещё раз.",
        "state_auth_failed": "Приложение потеряло доступ к Битрикс24. Переустановите его.",
        "state_payment_required": "Битрикс24 сообщает, что подписка на приложение закончилась.",
        "forbidden_title": "Эта страница открывается только внутри вашего Битрикс24",
        "forbidden_body": "Откройте приложение из меню Битрикс24. Если его только что "
        "установили, откройте его заново.",
        "contact": "Контакт",
        "lead": "Лид",
        "summary": "Что сделало приложение",
        "corrected_7d": "имён исправлено за 7 дней",
        "corrected_30d": "имён исправлено за 30 дней",
        "checked": "записей проверено за {days} дн.",
        "trial_30d": "В пробном режиме за 30 дней было бы исправлено ещё {n}.",
        "summary_hint": "Проверенные записи — те, что приложение прочитало после их изменения "
        "или при исправлении существующих записей.",
        "open_record": "Открыть в Битрикс24",
        "events_offline": "Изменения приходят в приложение через очередь, которую Битрикс24 "
        "хранит для него: пока приложение недоступно, ничего не теряется, а собственные "
        "исправления приложения к нему не возвращаются.",
        "events_offline_clear": "Изменения приходят в приложение через очередь, которую "
        "Битрикс24 хранит для него; собственные исправления приложения к нему не возвращаются.",
        "events_online": "Битрикс24 сообщает приложению о каждом изменении сразу; изменения, "
        "сделанные, пока приложение было недоступно, находит регулярная проверка.",
    },
}


def rule_text(code: str, lang: Language) -> str:
    """The plain-language reason for a name-engine rule code (the code itself if unknown)."""
    texts = RULE_TEXT.get(code)
    return texts.get(lang, code) if texts else code
