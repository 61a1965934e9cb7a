"""Service settings: config.yml (or PERCEPTION_CONFIG), with PERCEPTION_HOST/PORT overrides."""
import os
from pathlib import Path
from typing import Any, Dict

import yaml

DEFAULT_CONFIG = Path(__file__).resolve().parent / "config.yml"


def load_config(path: str | None = None) -> Dict[str, Any]:
    config_path = Path(path or os.environ.get("PERCEPTION_CONFIG") or DEFAULT_CONFIG)
    with config_path.open(encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    server = config.setdefault("server", {})
    server["host"] = os.environ.get("PERCEPTION_HOST", server.get("host", "127.0.0.1"))
    server["port"] = int(os.environ.get("PERCEPTION_PORT", server.get("port", 8700)))
    return config
