"""Run the app's Alembic migrations from code (the CLI, `make run` and the test session)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from odds_pipeline.storage.database import make_engine

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    ini = PROJECT_ROOT / "alembic.ini"
    if not ini.exists():
        raise FileNotFoundError(
            f"alembic.ini not found at {ini}: migrations run from a checkout of odds_pipeline "
            "(pip install -e .), not from a plain wheel"
        )
    return Config(str(ini))


def _run(engine: Engine, action: str, revision: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def upgrade(target: Engine | URL | str, revision: str = "head") -> None:
    engine = target if isinstance(target, Engine) else make_engine(target)
    _run(engine, "upgrade", revision)


def downgrade(target: Engine | URL | str, revision: str = "base") -> None:
    engine = target if isinstance(target, Engine) else make_engine(target)
    _run(engine, "downgrade", revision)
