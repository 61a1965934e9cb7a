# Parley: the two commands are `make run` and `make test`. Everything else is a piece of them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV := . scripts/env.sh &&

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

run: envs  ## install what is missing, seed, train if needed, start everything, print the URLs
	@scripts/run.sh

run-scaled: envs  ## scale-out: 2 Rasa (5005, 5015) on PostgreSQL + Redis, 2 perception replicas, nginx in front (8080)
	@scripts/run_scaled.sh

test: envs  ## install what is missing and run every test
	@scripts/test.sh

test-isolated:  ## make test inside a network namespace with only its own loopback (root): no server or host of the machine's is reachable
	@scripts/test_isolated.sh

envs:  ## install missing Debian packages, create or update both Python environments, build the web chat widget
	@scripts/system_packages.sh
	@scripts/venv.sh .venv/dialogue 3.10 requirements/dialogue.txt
	@scripts/venv.sh .venv/perception 3.11 perception/requirements.txt
	@scripts/build_widget.sh

seed: envs  ## (re)load the demo records from the company pack into var/company.db
	@$(ENV) .venv/dialogue/bin/python -m knowledge.seed

train: envs  ## train a model if config, domain or data changed (needs the perception service)
	@scripts/train.sh

retrain: envs  ## retrain on data/, gate against the current model (held-out F1, test stories), promote into the running Rasa (TOLERANCE=0.02)
	@$(ENV) .venv/dialogue/bin/python -m lifecycle retrain $(if $(TOLERANCE),--tolerance $(TOLERANCE),)

rollback: envs  ## serve the previously promoted model again (registry in models/registry.json)
	@$(ENV) .venv/dialogue/bin/python -m lifecycle rollback

perception: envs  ## run the perception service alone (port 8700)
	@$(ENV) exec .venv/perception/bin/python -m perception

actions: envs  ## run the action server alone (port 5055)
	@$(ENV) SANIC_HOST=127.0.0.1 exec .venv/dialogue/bin/python -m rasa_sdk --actions actions --port $${ACTIONS_PORT}  # loopback only (rasa_sdk reads SANIC_HOST)

review: envs  ## run the review inbox alone (port 5006; creates a first login "admin" and prints it once)
	@$(ENV) .venv/dialogue/bin/python -m review.users ensure-admin && exec .venv/dialogue/bin/python -m review

shell: envs  ## talk to the assistant in the terminal (needs perception and actions running)
	@$(ENV) exec .venv/dialogue/bin/python -m rasa_extensions shell --model "$$(scripts/train.sh | tail -n 1)" --endpoints endpoints.yml

audit:  ## known vulnerabilities in both Python environments (pip-audit; fails on a fixable one not in security/audit-allowlist.txt)
	@scripts/audit.sh

bench: envs  ## every benchmark, one after another, under 45 min (QUICK=1: under 10; ONLY=speech,ocr: some): bench/results/<date>/report.md
	@$(ENV) .venv/dialogue/bin/python -m bench.run $(if $(QUICK),--quick,) $(if $(ONLY),--only $(ONLY),)

bench-full: envs  ## also the slow variants (BANKING77 with Rasa's default DIET, every STT engine on every clip, the multimodal ablation): hours
	@$(ENV) .venv/dialogue/bin/python -m bench.run --full $(if $(ONLY),--only $(ONLY),)

bench-report:  ## join bench/results/<date>/ into report.md again; PUBLISH=1 also copies it to docs/benchmarks.md
	@$(ENV) .venv/dialogue/bin/python -m bench.report $(if $(PUBLISH),--publish,)

clean:  ## remove trained models and runtime data (keeps the environments)
	rm -rf models var results tests/artifacts

.PHONY: help run run-scaled test test-isolated envs seed train retrain rollback perception actions review shell audit bench bench-full bench-report clean
