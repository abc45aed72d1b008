"""Every word of the front page, in Russian and English (the browser's Accept-Language decides)."""

from __future__ import annotations

from typing import Final

from namecase.i18n import Language

TEXT: Final[dict[Language, dict[str, str]]] = {
    "en": {
        "title": "namecase",
        "tagline": "A Bitrix24 app that keeps the names of CRM contacts and leads in proper case: "
        "“иВАН ПЕТРОВ” becomes “Иван Петров” within seconds of being typed.",
        "status": "Status",
        "ready": "Ready",
        "not_ready": "Not ready",
        "version": "Version",
        "revision": "database revision",
        "warning_title": "Bitrix24 cannot reach this service yet",
        "not_https": "PUBLIC_URL is not https. Bitrix24 calls only https handlers: put the "
        "service behind a TLS proxy (docker compose does) and set NAMECASE_PUBLIC_URL to its "
        "https address.",
        "local_host": "PUBLIC_URL points to this machine or a private network "
        "({host}). Bitrix24's servers cannot connect there: use the public name of the service.",
        "cabinet_title": "Values for the Bitrix24 developer cabinet",
        "cabinet_hint": "Create a server application that uses the interface, and enter:",
        "handler": "Your handler path",
        "install": "Initial installation path",
        "scope": "Assign permissions (scope)",
        "events": "Events bound on install",
        "events_to": "delivered to",
        "links": "For operators",
        "admin": "Admin: portals, queue and workers (bearer token)",
        "docs": "API documentation",
        "health": "Liveness and readiness",
    },
    "ru": {
        "title": "namecase",
        "tagline": "Приложение Битрикс24, которое следит за регистром имён в контактах и лидах "
        "CRM: «иВАН ПЕТРОВ» через несколько секунд становится «Иван Петров».",
        "status": "Состояние",
        "ready": "Работает",
        "not_ready": "Не готов",
        "version": "Версия",
        "revision": "ревизия базы данных",
        "warning_title": "Битрикс24 пока не сможет обратиться к сервису",
        "not_https": "PUBLIC_URL не https. Битрикс24 вызывает только обработчики по https: "
        "поставьте сервис за TLS-прокси (docker compose так и делает) и укажите его "
        "https-адрес в NAMECASE_PUBLIC_URL.",
        "local_host": "PUBLIC_URL указывает на эту машину или частную сеть ({host}). Серверы "
        "Битрикс24 туда не подключатся: укажите публичное имя сервиса.",
        "cabinet_title": "Значения для кабинета разработчика Битрикс24",
        "cabinet_hint": "Создайте серверное приложение с интерфейсом и введите:",
        "handler": "Путь вашего обработчика",
        "install": "Путь для первоначальной установки",
        "scope": "Права доступа (scope)",
        "events": "События, которые привязываются при установке",
        "events_to": "доставляются на",
        "links": "Для администратора сервиса",
        "admin": "Админка: порталы, очередь и воркеры (bearer-токен)",
        "docs": "Документация API",
        "health": "Живость и готовность",
    },
}
