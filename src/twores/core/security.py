"""Who is asking: a Scope is an area subtree plus a role, carried by every unit of work."""

from __future__ import annotations

import attrs

from twores.core.areas import canonical_area_code
from twores.core.errors import InvalidValueError, TworesError
from twores.core.labels import LabelledEnum
from twores.core.texts import checked_limit


class Role(LabelledEnum):
    ADMIN = ("admin", "系统管理员", "administrator")
    OFFICE = ("office", "食安办", "food-safety office")
    CADRE = ("cadre", "包保干部", "cadre")
    READ_ONLY = ("read_only", "只读", "read-only")


#: Roles that may see personal data (phones, ID numbers) unmasked.
UNMASKING_ROLES = frozenset({Role.ADMIN, Role.OFFICE})
#: Roles that may change records.
WRITING_ROLES = frozenset({Role.ADMIN, Role.OFFICE, Role.CADRE})
#: Roles that keep the ledgers (台账): import areas, businesses, cadres and assignments.
LEDGER_ROLES = frozenset({Role.ADMIN, Role.OFFICE})


def _role(value: Role | str) -> Role:
    """A role, or its spelling as the CLI, the web and the docs write it (``office``, 食安办)."""
    return Role.parse(value, field="role")


def _area(value: str | None) -> str | None:
    """An area code in canonical form (``None``: everywhere); a malformed one is refused."""
    return None if value is None else canonical_area_code(value, field="area_code")


#: The longest actor the audit log (``audit_log.actor``), import batches and rankings keep.
ACTOR_MAX = 100


def _check_actor(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    """Who acts: the audit log names them, so never blank, never longer than it keeps, and
    free of control characters (PostgreSQL cannot store NUL)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError(
            "actor",
            value,
            "应为操作人名称（审计日志记录谁做了什么），不能为空",
            "must name who acts (the audit log records it), not be blank",
        )
    if len(value) > ACTOR_MAX or not value.isprintable():
        checked_limit(value, "actor", ACTOR_MAX)


@attrs.frozen
class Scope:
    """``actor`` acting as ``role`` over the subtree of ``area_code`` (None: everywhere); a
    cadre's scope names the cadre it acts as (``cadre_id``, else the actor).

    ``role`` may be given as its spelling (``"office"``, ``"食安办"``) and ``area_code`` as a
    ledger types it (``"４５０３２３"``); an unknown role, a malformed area code or a blank
    actor is refused here (:class:`~twores.core.errors.InvalidValueError`), before any
    unit of work opens."""

    actor: str = attrs.field(validator=_check_actor)
    role: Role = attrs.field(converter=_role)
    area_code: str | None = attrs.field(default=None, converter=_area)
    cadre_id: str | None = None

    @classmethod
    def system(cls, actor: str = "system") -> Scope:
        return cls(actor, Role.ADMIN, None)

    @property
    def acts_as(self) -> str:
        """Whom the ledgers name for this scope's steps: its cadre, else its actor."""
        return self.cadre_id or self.actor

    def check_acts_as(self, cadre_id: str, field: str = "cadre_id") -> None:
        """A cadre acts in their own name only: a visit or a problem step given as another
        cadre is refused (offices act for anyone in their area)."""
        if self.role is Role.CADRE and cadre_id != self.acts_as:
            raise CadreIdentityError(field, cadre_id, self.acts_as)

    @property
    def can_unmask(self) -> bool:
        return self.role in UNMASKING_ROLES

    @property
    def can_write(self) -> bool:
        return self.role in WRITING_ROLES

    @property
    def keeps_ledgers(self) -> bool:
        """An office's duties: importing ledgers, issuing rankings and bulletins (a cadre
        records visits, not other cadres' records)."""
        return self.role in LEDGER_ROLES


class ScopeError(TworesError):
    """An operation outside the caller's jurisdiction or beyond the caller's role;
    ``keys`` names the stored records refused, when some were (all of a batch's)."""

    code = "out_of_scope"

    def __init__(self, message_zh: str, message_en: str, keys: tuple[str, ...] = ()) -> None:
        super().__init__(message_zh, message_en)
        self.keys = keys


class CadreIdentityError(InvalidValueError):
    """A cadre's scope used in another cadre's name."""

    code = "not_own_name"

    def __init__(self, field: str, given: str, own: str) -> None:
        super().__init__(
            field,
            given,
            f"包保干部只能以本人（{own}）名义操作",
            f"a cadre acts in their own name ({own}) only",
        )


def outside_scope(scope: Scope, what_zh: str, what_en: str) -> ScopeError:
    where = scope.area_code or "全国"
    return ScopeError(
        f"{scope.actor}（{scope.role.zh}，辖区 {where}）无权访问{what_zh}",
        f"{scope.actor} ({scope.role.en}, scope {scope.area_code or 'all'}) "
        f"may not access {what_en}",
    )


def records_outside(scope: Scope, what_zh: str, what_en: str, keys: list[str]) -> ScopeError:
    """The stored records of ``keys`` lie outside ``scope``: one error naming them all."""
    shown = sorted(keys)
    listed = "、".join(shown[:10]) + (f" 等 {len(shown)} 个" if len(shown) > 10 else "")
    listed_en = ", ".join(shown[:10]) + (f" and {len(shown) - 10} more" if len(shown) > 10 else "")
    error = outside_scope(scope, f"辖区外的{what_zh} {listed}", f"{what_en} {listed_en} outside it")
    return ScopeError(error.message_zh, error.message_en, tuple(shown))


def mask_phone(phone: str | None) -> str | None:
    """138****1234: a number of 11 digits or more keeps its first three and last four;
    a shorter one (a landline without its area code) at most its last four, and never more
    than half of it."""
    if not phone:
        return phone
    if len(phone) >= 11:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    shown = min(4, len(phone) // 2)
    return "*" * (len(phone) - shown) + phone[len(phone) - shown :]


def mask_id_number(id_number: str | None) -> str | None:
    """110101********1234: keep the region code and the last four characters."""
    if not id_number:
        return id_number
    return id_number[:6] + "*" * max(0, len(id_number) - 10) + id_number[-4:]
