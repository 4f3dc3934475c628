"""How a file from elsewhere (a CRM's export) maps onto clm's columns: headers to columns or
custom fields (`--map`), cell values to clm's (`--map-value`), the date format, kept whole in
a mapping file (`--map-file`) for the next daily import.

A mapping file is TOML:

    date_format = "%d/%m/%Y"          # optional: how the file writes dates
    create_fields = true              # optional: make the fields `field:NAME` names
    [map]
    "Company name" = "name"
    "Industry" = "field:industry"     # a custom field
    "Record ID" = ""                  # skipped
    [map_value.stage]
    customer = "adopting"
"""

from dataclasses import dataclass, field

from sqlalchemy import Connection

from clm.domain.engine.field_defs import field_defs
from clm.domain.transfer import READ_COLUMNS
from clm.domain.transfer.files import parse_mapping
from clm.errors import Invalid, did_you_mean

FIELD_PREFIX = "field:"


@dataclass
class ImportMapping:
    """What a user said about a file: `--map` specs, value maps, the date format."""

    maps: list[str] = field(default_factory=list)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_format: str | None = None
    create_fields: bool = False
    created: list[str] = field(default_factory=list)  # the fields made for it

    def lines(self, columns: dict[str, str | None]) -> list[str]:
        """The mapping as the dry run shows it."""
        shown = [
            f"  {header!r} → {target if target else '(skipped)'}"
            + (" (custom field, new)" if target in self.created else "")
            for header, target in columns.items()
        ]
        shown += [
            f"  {column}: {raw!r} → {value}"
            for column, values in self.values.items()
            for raw, value in values.items()
        ]
        if self.date_format:
            shown.append(f"  dates read as {self.date_format}")
        return ["Mapping:", *shown] if shown else []


def read_mapping(
    maps=(), map_values=(), date_format=None, create_fields=False, file_text=None, source=""
) -> ImportMapping:
    """The options, after a mapping file's (the options win where both say)."""
    mapping = ImportMapping()
    if file_text is not None:
        _read_file(mapping, file_text, source)
    mapping.maps += list(maps)
    for spec in map_values:
        column, colon, pair = spec.partition(":")
        raw, equals, value = pair.rpartition("=")
        if not colon or not equals or not column.strip() or not raw.strip():
            raise Invalid(
                f"invalid --map-value '{spec}': use 'column:FILE VALUE=clm value', e.g. "
                "'stage:customer=adopting'"
            )
        mapping.values.setdefault(column.strip().lower(), {})[raw.strip().lower()] = value.strip()
    mapping.date_format = date_format or mapping.date_format
    mapping.create_fields = create_fields or mapping.create_fields
    if mapping.date_format is not None and "%" not in mapping.date_format:
        raise Invalid(
            f"invalid --date-format '{mapping.date_format}': use strftime codes, e.g. %d/%m/%Y"
        )
    return mapping


def _read_file(mapping: ImportMapping, text: str, source: str) -> None:
    import tomllib

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Invalid(f"{source} is not valid TOML: {exc}") from None
    known = ("map", "map_value", "date_format", "create_fields")
    for key in document:
        if key not in known:
            raise Invalid(f"{source}: unknown key '{key}': use {', '.join(known)}")
    columns, values = document.get("map", {}), document.get("map_value", {})
    if not isinstance(columns, dict) or not all(isinstance(t, str) for t in columns.values()):
        raise Invalid(f'{source}: [map] holds "File header" = "column" lines')
    if not isinstance(values, dict) or not all(
        isinstance(pairs, dict) and all(isinstance(x, str) for x in pairs.values())
        for pairs in values.values()
    ):
        raise Invalid(f'{source}: [map_value.COLUMN] holds "file value" = "clm value" lines')
    mapping.maps += [f"{header}={target}" for header, target in columns.items()]
    for column, pairs in values.items():
        mapping.values[column.lower()] = {raw.lower(): value for raw, value in pairs.items()}
    mapping.date_format = document.get("date_format")
    mapping.create_fields = bool(document.get("create_fields", False))


def header_targets(conn: Connection, table: str, mapping: ImportMapping) -> dict:
    """`--map` as header -> column, `field:NAME` targets made custom fields (created as text
    fields with `create_fields`); every name checked, with a suggestion."""
    from clm.domain.custom_fields import add_field

    custom = field_defs(conn) if table == "customers" else {}
    specs = []
    for spec in mapping.maps:
        header, equals, target = spec.rpartition("=")
        name = target.strip().lower()
        if equals and name.startswith(FIELD_PREFIX):
            if table != "customers":
                raise Invalid(f"invalid --map '{spec}': only customers have custom fields")
            name = name.removeprefix(FIELD_PREFIX).strip()
            if name not in custom:
                if not mapping.create_fields:
                    raise Invalid(
                        f"invalid --map '{spec}': no field '{name}': add it (clm field add "
                        f"{name} --kind text) or pass --create-fields{did_you_mean(name, custom)}"
                    )
                custom[name] = add_field(conn, name, "text")
                mapping.created.append(name)
            spec = f"{header}={name}"
        specs.append(spec)
    columns = (*READ_COLUMNS[table], *custom)
    for column in mapping.values:
        if column not in columns:
            raise Invalid(
                f"invalid --map-value '{column}:…': no column '{column}'"
                f"{did_you_mean(column, columns)}"
            )
    return parse_mapping(specs, columns)
