"""The registry's state and the deterministic rules that change it, one log record at a time.

Every registry applies the same records in the same (log) order with these rules, so all
registries reach the same state without a leader:

- the first record that registers a given canonical schema text gives it the next global id
  (1, 2, ...); later registrations of the same text, under any subject, reuse it;
- versions are numbered per subject in log order (highest existing version + 1);
- compatibility is checked when a record is applied, against the versions applied before it.

Nothing here may depend on the clock, randomness or anything local to one registry.
Rules follow Confluent's: a schema already registered (not deleted) under a subject returns
its id without a new version; soft-deleted versions are ignored by compatibility checks and
by ``latest``; permanent deletion needs a soft deletion first; ids and their schemas are kept
for ever, so a record written with an id can always be read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from eventpipes.schemas import canonical, compat
from eventpipes.schemas.compat import CompatibilityLevel, CompatibilityResult, PriorVersion
from eventpipes.schemas.registry import errors
from eventpipes.schemas.registry.model import (
    Command,
    DeleteConfig,
    DeleteSubject,
    DeleteVersion,
    Mode,
    Register,
    SetConfig,
    SetMode,
    SubjectVersion,
)


@dataclass
class _Version:
    schema_id: int
    deleted: bool = False


@dataclass
class _Subject:
    versions: dict[int, _Version] = field(default_factory=dict)
    level: CompatibilityLevel | None = None

    def live(self) -> list[int]:
        return [v for v, entry in self.versions.items() if not entry.deleted]


class RegistryState:
    """Schemas, subjects, levels and mode, as applied from the log so far.

    Mutated only by :meth:`apply`; every other method reads.
    """

    def __init__(self) -> None:
        self._schemas: dict[int, canonical.AvroSchema] = {}
        self._ids: dict[str, int] = {}
        self._subjects: dict[str, _Subject] = {}
        self.global_level: CompatibilityLevel = compat.DEFAULT_LEVEL
        self.global_level_set = False
        self.mode: Mode = Mode.READWRITE
        self.applied = 0

    # -- applying the log -------------------------------------------------------------

    def apply(self, command: Command) -> object:
        """Apply one log record and return the answer for the request that wrote it.

        Raises:
            RegistryError: the request is refused; the state is unchanged.
        """
        self.applied += 1
        if isinstance(command, Register):
            return self._register(command)
        if isinstance(command, DeleteVersion):
            return self._delete_version(command)
        if isinstance(command, DeleteSubject):
            return self._delete_subject(command)
        if isinstance(command, SetConfig):
            return self._set_config(command)
        if isinstance(command, DeleteConfig):
            return self._delete_config(command)
        return self._set_mode(command)

    def _writable(self, subject: str) -> None:
        if self.mode is Mode.READONLY:
            raise errors.OperationNotPermitted(f"Subject {subject} is in read-only mode")

    def _register(self, command: Register) -> dict[str, object]:
        self._writable(command.subject)
        schema = canonical.parse(command.schema)
        subject = self._subjects.setdefault(command.subject, _Subject())
        for entry in subject.versions.values():
            if not entry.deleted and self._schemas[entry.schema_id].text == schema.text:
                return {"id": entry.schema_id}
        result = self.check(command.subject, schema)
        if not result.is_compatible:
            details = ", ".join(result.messages)
            raise errors.IncompatibleSchema(
                f"Schema being registered is incompatible with an earlier schema for subject "
                f'"{command.subject}", details: [{details}]',
                result.messages,
            )
        schema_id = self._ids.get(schema.text)
        if schema_id is None:
            schema_id = len(self._schemas) + 1
            self._schemas[schema_id] = schema
            self._ids[schema.text] = schema_id
        subject.versions[max(subject.versions, default=0) + 1] = _Version(schema_id)
        return {"id": schema_id}

    def _delete_version(self, command: DeleteVersion) -> int:
        self._writable(command.subject)
        subject = self._existing(command.subject, deleted=command.permanent)
        version = command.version if command.version is not None else max(subject.live(), default=0)
        entry = subject.versions.get(version)
        if entry is None:
            raise _version_not_found(command.subject, version)
        if command.permanent:
            if not entry.deleted:
                raise errors.VersionNotSoftDeleted(
                    f"Subject '{command.subject}' Version {version} was not deleted first before being permanently deleted"
                )
            del subject.versions[version]
            self._drop_if_empty(command.subject)
        elif entry.deleted:
            raise errors.VersionSoftDeleted(
                f"Subject '{command.subject}' Version {version} was soft deleted. Set permanent=true to delete permanently"
            )
        else:
            entry.deleted = True
        return version

    def _delete_subject(self, command: DeleteSubject) -> list[int]:
        self._writable(command.subject)
        subject = self._subjects.get(command.subject)
        if subject is None or not subject.versions:
            raise _subject_not_found(command.subject)
        if command.permanent:
            if subject.live():
                raise errors.SubjectNotSoftDeleted(
                    f"Subject '{command.subject}' was not deleted first before being permanently deleted"
                )
            versions = list(subject.versions)
            del self._subjects[command.subject]
            return versions
        live = subject.live()
        if not live:
            raise errors.SubjectSoftDeleted(
                f"Subject '{command.subject}' was soft deleted. Set permanent=true to delete permanently"
            )
        for version in live:
            subject.versions[version].deleted = True
        return live

    def _set_config(self, command: SetConfig) -> dict[str, object]:
        level = compat.parse_level(command.level)  # checked by the server before writing
        if command.subject is None:
            self.global_level, self.global_level_set = level, True
        else:
            self._subjects.setdefault(command.subject, _Subject()).level = level
        return {"compatibility": level.value}

    def _delete_config(self, command: DeleteConfig) -> dict[str, object]:
        if command.subject is None:
            previous = self.global_level
            self.global_level, self.global_level_set = compat.DEFAULT_LEVEL, False
            return {"compatibilityLevel": previous.value}
        subject = self._subjects.get(command.subject)
        if subject is None or subject.level is None:
            raise _no_subject_level(command.subject)
        previous = subject.level
        subject.level = None
        self._drop_if_empty(command.subject)
        return {"compatibilityLevel": previous.value}

    def _set_mode(self, command: SetMode) -> dict[str, object]:
        self.mode = Mode(command.mode)
        return {"mode": self.mode.value}

    def _drop_if_empty(self, name: str) -> None:
        subject = self._subjects.get(name)
        if subject is not None and not subject.versions and subject.level is None:
            del self._subjects[name]

    # -- reading ----------------------------------------------------------------------

    def subjects(self, *, deleted: bool = False, prefix: str = "") -> list[str]:
        """Subjects with a live version (or any version, with ``deleted``), sorted."""
        return sorted(
            name for name, s in self._subjects.items()
            if name.startswith(prefix) and (s.live() if not deleted else s.versions)
        )

    def versions(self, subject: str, *, deleted: bool = False) -> list[int]:
        """Version numbers of a subject, ascending.

        Raises:
            SubjectNotFound: no (live) version.
        """
        entry = self._existing(subject, deleted=deleted)
        return list(entry.versions) if deleted else entry.live()

    def version(self, subject: str, version: int | None, *, deleted: bool = False) -> SubjectVersion:
        """One version (``None``: the latest live one).

        Raises:
            SubjectNotFound, VersionNotFound
        """
        entry = self._existing(subject, deleted=deleted)
        number = version if version is not None else max(entry.live(), default=0)
        found = entry.versions.get(number)
        if found is None or (found.deleted and not deleted):
            raise _version_not_found(subject, number)
        return SubjectVersion(subject, number, found.schema_id, self._schemas[found.schema_id].text, found.deleted)

    def lookup(self, subject: str, schema: canonical.AvroSchema, *, deleted: bool = False) -> SubjectVersion:
        """The version of ``subject`` holding ``schema``.

        Raises:
            SubjectNotFound, SchemaNotFound
        """
        entry = self._existing(subject, deleted=deleted)
        for number, found in entry.versions.items():
            if (deleted or not found.deleted) and self._schemas[found.schema_id].text == schema.text:
                return SubjectVersion(subject, number, found.schema_id, schema.text, found.deleted)
        raise errors.SchemaNotFound("Schema not found")

    def schema(self, schema_id: int) -> canonical.AvroSchema:
        """The schema with a global id.

        Raises:
            SchemaNotFound: 40403.
        """
        found = self._schemas.get(schema_id)
        if found is None:
            raise errors.SchemaNotFound(f"Schema {schema_id} not found")
        return found

    def uses(self, schema_id: int, *, deleted: bool = False) -> Iterator[tuple[str, int]]:
        """(subject, version) pairs that use a schema id, sorted."""
        self.schema(schema_id)
        for name in sorted(self._subjects):
            for number, entry in self._subjects[name].versions.items():
                if entry.schema_id == schema_id and (deleted or not entry.deleted):
                    yield name, number

    def level(self, subject: str | None, *, default_to_global: bool = False) -> CompatibilityLevel:
        """The level of a subject (its own) or the global one.

        Raises:
            SubjectCompatibilityNotConfigured: the subject has no level of its own (40408).
        """
        if subject is None:
            return self.global_level
        own = self._subjects[subject].level if subject in self._subjects else None
        if own is not None:
            return own
        if default_to_global:
            return self.global_level
        raise _no_subject_level(subject)

    def effective_level(self, subject: str) -> CompatibilityLevel:
        """The level that governs ``subject``: its own, else the global one."""
        return self.level(subject, default_to_global=True)

    def check(self, subject: str, schema: canonical.AvroSchema) -> CompatibilityResult:
        """Whether ``schema`` may follow the subject's live versions, as its level requires
        (what registration checks)."""
        entry = self._subjects.get(subject)
        return compat.check(self.effective_level(subject), schema, self._prior(entry.live(), entry) if entry else [])

    def check_version(self, subject: str, schema: canonical.AvroSchema, version: int | None) -> CompatibilityResult:
        """Whether ``schema`` may follow one version (``None``: the latest), in the direction of
        the subject's level.

        Raises:
            SubjectNotFound, VersionNotFound
        """
        one = self.version(subject, version)
        level = _non_transitive(self.effective_level(subject))
        return compat.check(level, schema, [PriorVersion(one.version, self._schemas[one.schema_id])])

    def _prior(self, numbers: list[int], entry: _Subject | None) -> list[PriorVersion]:
        if entry is None:
            return []
        return [PriorVersion(n, self._schemas[entry.versions[n].schema_id]) for n in numbers]

    def _existing(self, subject: str, *, deleted: bool) -> _Subject:
        entry = self._subjects.get(subject)
        if entry is None or not (entry.versions if deleted else entry.live()):
            raise _subject_not_found(subject)
        return entry


def _non_transitive(level: CompatibilityLevel) -> CompatibilityLevel:
    return CompatibilityLevel(level.value.removesuffix("_TRANSITIVE"))


def _subject_not_found(subject: str) -> errors.SubjectNotFound:
    return errors.SubjectNotFound(f"Subject '{subject}' not found.")


def _version_not_found(subject: str, version: int) -> errors.VersionNotFound:
    return errors.VersionNotFound(f"Version {version} not found.")


def _no_subject_level(subject: str) -> errors.SubjectCompatibilityNotConfigured:
    return errors.SubjectCompatibilityNotConfigured(f"Subject '{subject}' does not have subject-level compatibility configured")
