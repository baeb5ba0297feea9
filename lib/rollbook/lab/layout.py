"""Where a lab lives: its directory, ports, roles and secret files.

`lab up` writes `lab.json` into the lab directory; params that say `lab: {}` read
their endpoints from it, so one params file serves any lab.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rollbook.errors import RollbookError

# Below the kernel's ephemeral range (32768-60999): a listener there can collide with the
# source port of some outgoing loopback connection.
DEFAULT_PORT_BASE = 25400
DATABASE = "chat"
APP_USER = "chat"
ADMIN_USER = "rollbook_admin"
REPLICATION_USER = "replicator"

# Offsets from --port-base; one place defines them all.
PORT_OFFSETS = {
    "primary": 0,
    "replica": 1,
    "pgbouncer": 2,
    "redis": 3,
    "prometheus": 4,
    "postgres_exporter_primary": 5,
    "postgres_exporter_replica": 6,
    "pgbouncer_exporter": 7,
    "redis_exporter": 8,
    "workload": 9,
}


class LabNotFound(RollbookError, RuntimeError):
    """The lab directory has not been set up by `rollbook lab up`."""


def default_lab_dir() -> Path:
    return Path(os.environ.get("ROLLBOOK_LAB_DIR", ".lab")).absolute()


@dataclass
class LabLayout:
    """Paths and ports of one lab; serialised to `<dir>/lab.json`."""

    dir: Path
    port_base: int = DEFAULT_PORT_BASE
    seed_messages: int = 2_000_000
    pool_size: int = 20
    max_client_conn: int = 500
    state_dir: Path | None = None  # where PostgreSQL/PgBouncer files live (see stack)
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.dir = Path(self.dir).absolute()
        if not self.ports:
            self.ports = {name: self.port_base + off for name, off in PORT_OFFSETS.items()}

    @property
    def state_path(self) -> Path:
        """`state_dir`, which `Lab` chooses before any service uses it."""
        if self.state_dir is None:
            raise RuntimeError(f"lab {self.dir}: no state directory chosen yet")
        return self.state_dir

    @property
    def info_file(self) -> Path:
        return self.dir / "lab.json"

    @property
    def secrets_dir(self) -> Path:
        return self.dir / "secrets"

    def secret_file(self, role: str) -> Path:
        """File holding a role's password: app_password, admin_password, replication_password."""
        return self.secrets_dir / f"{role}_password"

    def save(self) -> None:
        data = asdict(self)
        data["dir"] = str(self.dir)
        data["state_dir"] = str(self.state_dir) if self.state_dir else None
        self.dir.mkdir(parents=True, exist_ok=True)
        self.info_file.write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, lab_dir: Path | None = None) -> LabLayout:
        lab_dir = Path(lab_dir).absolute() if lab_dir else default_lab_dir()
        info = lab_dir / "lab.json"
        if not info.exists():
            raise LabNotFound(
                f"no lab in {lab_dir} (missing lab.json): start one with "
                f"`rollbook lab up --dir {lab_dir}`"
            )
        data = json.loads(info.read_text())
        data["dir"] = Path(data["dir"])
        data["state_dir"] = Path(data["state_dir"]) if data.get("state_dir") else None
        return cls(**data)

    def endpoints(self) -> dict:
        """Params sections for this lab (passwords as file references)."""
        app = {"file": str(self.secret_file("app"))}
        admin = {"file": str(self.secret_file("admin"))}
        pg = {"host": "127.0.0.1", "dbname": DATABASE, "user": APP_USER, "password": app}
        return {
            "primary": {**pg, "port": self.ports["primary"]},
            "replica": {**pg, "port": self.ports["replica"]},
            "pgbouncer": {
                "host": "127.0.0.1",
                "port": self.ports["pgbouncer"],
                "dbname": DATABASE,
                "admin_user": ADMIN_USER,
                "admin_password": admin,
            },
            "redis": {"host": "127.0.0.1", "port": self.ports["redis"]},
            "prometheus": {"url": f"http://127.0.0.1:{self.ports['prometheus']}"},
        }
