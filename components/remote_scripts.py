"""Shell scripts that pulumi-command runs on the ClickHouse box over SSH.

Kept as pure functions so tests can run them for real against a scratch directory.
"""

from __future__ import annotations

import shlex


def install_file_script(path: str, *, mode: str = "0640", validate: str | None, reload: str | None) -> str:
    """Install stdin as `path`, validate, reload; restore the previous file if validation fails.

    The file is rewritten in place (same inode) rather than renamed over: the partner's Caddy runs in
    Docker with single-file bind mounts, which keep serving the old inode after a rename (reference
    incident: grant changes silently not applied until the container was recreated).
    """
    if not mode.isdigit() or len(mode) != 4:
        raise ValueError(f"file mode must be four octal digits, got {mode!r}")
    target = shlex.quote(path)
    lines = [
        "set -euo pipefail",
        "umask 077",
        'staged="$(mktemp)"',
        'trap \'rm -f "$staged" "$staged.bak"\' EXIT',
        'cat > "$staged"',
        f'mkdir -p "$(dirname {target})"',
        f'if [ -f {target} ]; then cp -p {target} "$staged.bak"; fi',
        f"touch {target}",
        f"chmod {mode} {target}",
        f'cat "$staged" > {target}',
    ]
    if validate:
        lines += [
            f"if ! {validate}; then",
            f'  if [ -f "$staged.bak" ]; then cat "$staged.bak" > {target}; else rm -f {target}; fi',
            f'  echo "validation failed for {path}; previous file restored" >&2',
            "  exit 1",
            "fi",
        ]
    if reload:
        lines.append(reload)
    lines.append(f'echo "installed {path} ($(sha256sum {target} | cut -c1-12))"')
    return "\n".join(lines) + "\n"


def run_sql_script(client_command: str) -> str:
    """Feed stdin (a multi-statement SQL script) to clickhouse-client on the box, failing on the first error."""
    return f"set -euo pipefail\n{client_command}\n"
