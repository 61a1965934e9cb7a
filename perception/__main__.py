"""python -m perception: start the service on the configured host and port."""
import logging
import os

# onnxruntime (Piper, Silero VAD) reports usage to Microsoft unless told not to: nothing leaves
# the machine, whoever starts the service (set before any engine is imported)
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

import uvicorn

from perception.app import create_app
from perception.settings import load_config
from privacy.redact import install


def main() -> None:
    logging.basicConfig(level=os.environ.get("PERCEPTION_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install()  # no e-mails, phone or card numbers, customer names in any log line
    config = load_config()
    uvicorn.run(create_app(config), host=config["server"]["host"], port=config["server"]["port"],
                log_level="info", access_log=False)


if __name__ == "__main__":
    main()
