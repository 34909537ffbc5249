"""Start the `scim2-server` command of the scim2-server package on 127.0.0.1.

Only one thing is added to the package's own command: the bearer token is read
from the SCIM_TOKEN environment variable instead of the command line, so that
it never shows in the process list. The port comes from PORT.

The SCIM base URL is then http://127.0.0.1:PORT/v2 (the package's own layout).
Everything else is the package's default configuration: the RFC 7643 schemas
(User with the enterprise extension, Group), every feature announced as
supported except cursor pagination, resources kept in memory.

One deployment setting is raised: the listen backlog of the command's threading
WSGI server, from Python's default of 5 to 128. Some suites open a couple of
hundred connections at once (e.g. discovery/max-results-caps-every-page), and
with a backlog of 5 the kernel drops connection attempts, so requests time out
in the client before the server ever sees them. That is a property of the demo
HTTP server, not of the SCIM implementation under test.
"""

import os
import sys


def main() -> None:
    token = os.environ.get("SCIM_TOKEN", "")
    port = os.environ.get("PORT", "")
    if not token:
        sys.exit("scim2-server start: SCIM_TOKEN is not set")
    if not port.isdigit():
        sys.exit("scim2-server start: PORT must be a TCP port number")

    from scim2_server.testserver import cli

    cli.ThreadingWSGIServer.request_queue_size = 128

    # Changing sys.argv does not change the process's command line as others
    # see it (/proc/PID/cmdline), so the token stays out of it.
    sys.argv = [
        "scim2-server",
        "--hostname",
        "127.0.0.1",
        "--port",
        port,
        "--bearer-token",
        token,
    ]
    cli.main()


if __name__ == "__main__":
    main()
