"""Errors that go back to a client as a status and a message, never a traceback."""

from __future__ import annotations


class ClientError(Exception):
    """Refuse a request: ``status`` is an HTTP status (400, 403, 404, 409, 413...)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}  # e.g. Retry-After on a 503

    def to_dict(self) -> dict:
        """The message in Dutch, and ``message_en`` for pages set to English (messages_en.py)."""
        from .messages_en import english

        return {"status": self.status, "code": self.code, "message": self.message,
                "message_en": english(self.message) or self.message}


def bad_request(message: str, code: str = "bad_request") -> ClientError:
    return ClientError(400, code, message)


def forbidden(message: str, code: str = "forbidden") -> ClientError:
    return ClientError(403, code, message)


def not_found(message: str, code: str = "not_found") -> ClientError:
    return ClientError(404, code, message)


def conflict(message: str, code: str = "conflict") -> ClientError:
    return ClientError(409, code, message)
