"""The face of storage: what the domain and the commands use of the database, whatever the
dialect. The rooms behind it live in clm.storage."""

from clm.storage.audit import (  # noqa: F401
    AUDITED,
    LINKS,
    UNLOGGED,
)
from clm.storage.audit import log_summary as log_bulk_write  # noqa: F401
from clm.storage.audit import paused as audit_paused  # noqa: F401
from clm.storage.audit import suspend as suspend_audit  # noqa: F401
from clm.storage.bulk import (  # noqa: F401
    advance_id_sequence,
    audit_unfired,
    bulk_load,
    in_values,
    indexes_deferred,
    insert_ignore,
    insert_new,
    insert_new_rows,
    insert_rows,
    stream_rows,
    update_rows,
    upsert_from,
    upsert_rows,
)
from clm.storage.clock import (  # noqa: F401
    number_stamp,
    stamp_number,
    utcnow,
)
from clm.storage.dialect import (  # noqa: F401
    NARROW_CHARS,
    binary,
    by_primary_key,
    days_from,
    greatest,
    grouped_digits,
    has_other_chars,
    iso_date,
    joined_cells,
    least,
    padded_line,
    random_uuid,
    sorted_by,
    uuid_in_block,
)
from clm.storage.engine import (  # noqa: F401
    COPYING,
    Database,
    analyze,
    attach_copy,
    audit_copied,
    clock,
    create_schema,
    damaged_message,
    exists,
    finish_copy,
    friendly_error,
    get_meta,
    integrity_problems,
    open_copy,
    open_empty,
    optimize,
    recreate,
    remove_copy,
    server_description,
    set_meta,
    snapshot,
)
from clm.storage.files import (  # noqa: F401
    backup_path,
    damage_marker,
    is_own_file,
    own_file_kind,
    sqlite_meta,
    write_private_file,
)
from clm.storage.location import default_path, resolve  # noqa: F401
from clm.storage.statistics import (  # noqa: F401
    bigger_read_cache,
    bigger_write_cache,
    refresh_table_statistics,
    server_statistics,
)
from clm.storage.team import (  # noqa: F401
    ACCESS,
    connected_role,
    grant_login,
    policy_problems,
)
