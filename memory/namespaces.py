"""Per-user store namespaces: ``(<root>, <label of the user id>)``.

Users' memories live in ``("memories", label)`` and reflexion's lessons in
``("lessons", label)``. LangGraph's ``/store`` API refuses namespace labels containing a
``.`` (``GET /store/items`` joins labels with dots), and user ids often contain one (an
e-mail address). `namespace_label` escapes ``%`` and ``.`` so every user id maps to one valid
label and back: ``ana@example.com`` becomes ``ana@example%2Ecom``. The server's store
handler (`server.store_access`) compares a namespace's second label with the caller's
`namespace_label`, so a user reaches only their own namespaces.
"""

from __future__ import annotations

__all__ = ["namespace_label", "user_from_label"]


def namespace_label(user_id: str) -> str:
    """The namespace label for `user_id`: ``%`` and ``.`` percent-escaped.

    Example:
        >>> namespace_label("ana"), namespace_label("ana.b@example.com")
        ('ana', 'ana%2Eb@example%2Ecom')
    """
    return user_id.replace("%", "%25").replace(".", "%2E")


def user_from_label(label: str) -> str:
    """The user id a `namespace_label` came from.

    Example:
        >>> user_from_label(namespace_label("50%.off@example.com"))
        '50%.off@example.com'
    """
    return label.replace("%2E", ".").replace("%25", "%")
