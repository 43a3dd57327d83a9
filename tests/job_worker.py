"""A job worker process for tests: rathaus's jobs plus tests/jobs_for_tests.py's (settings from RATHAUS_*)."""

import sys

from jobs_for_tests import TEST_JOBS
from rathaus.core.jobs import worker
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime

if __name__ == "__main__":
    runtime = Runtime(Settings(_env_file=None))  # type: ignore[call-arg]
    runtime.jobs.declare(*TEST_JOBS)
    try:
        worker.run(runtime, name=sys.argv[1] if len(sys.argv) > 1 else None)
    finally:
        runtime.close()
