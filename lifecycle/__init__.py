"""Model lifecycle: retrain on the updated data, gate, promote, roll back.

    python -m lifecycle retrain [--config config.yml] [--tolerance 0.02] [--rasa-url URL]... [--token T]
    python -m lifecycle rollback [--rasa-url URL]... [--token T]
    python -m lifecycle status [--json]
    python -m lifecycle current        # the current model's archive, or nothing (for scripts/run.sh)

All state lives in the models folder (`--models`, default models/): registry.json, heldout.yml,
the promoted archives (never deleted) and logs/.

retrain
1. The held-out split is fixed: the first retrain (no registry yet: the bootstrap) picks every NLU
   example whose hash of text + metadata falls in the first 15% of the hash space, at least one per
   intent and never an intent's last two training examples (lifecycle.split), and freezes it with
   its labels in models/heldout.yml (sha256 in the registry; a changed file is refused).
2. The candidate trains (`rasa train`) on a copy of data/ minus every held-out example, matched by
   text + metadata whatever its label, so the registry's models never saw the evaluation examples.
   The current model of the registry was trained the same way, which makes the comparison fair;
   a model trained outside the lifecycle (scripts/train.sh on all of data/) is never compared.
3. Both models are evaluated with Rasa's own evaluation in a child process (lifecycle.evaluate):
   intent accuracy, macro and weighted F1 on the held-out file, and the test stories
   (tests/test_stories.yml, plus the review inbox's tests/test_reviewed_stories.yml when it
   exists). The current model's numbers are cached in its entry per (held-out, stories) pair.
4. The gate (lifecycle.gate) promotes only when the candidate's weighted intent F1 is at least the
   current one minus --tolerance and no test story fails. Bootstrap: no comparison, the stories
   must pass. The comparison table is printed; exit code 0 promoted, 1 refused, 2 error.
5. Promotion moves the archive into models/, loads it into the running Rasa through its
   authenticated HTTP API (PUT /model, then GET /status must name it), and records its sha256, data
   version (sha256 of data/, domain.yml and the config), metrics and time; the previous model stays
   on disk. No server running: the registry is updated and the next start serves it. A server that
   refuses: nothing changes (exit 2). A refused candidate is recorded and its archive deleted.
   Several instances (make run-scaled): every one loads it or none keeps it (lifecycle.fleet:
   which URLs, and the rules when one is down or fails to load).

rollback makes the model promoted before the current one current again, after checking its
archive's sha256, and loads it into the running Rasa instances the same way.

current prints the current model's archive after checking its sha256 (exit 2 when it is missing
or changed): scripts/run.sh and run_scaled.sh refuse to start with a tampered model.
"""
