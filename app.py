"""The chatrec web app: `python app.py [--port P] [--catalog PATH] …`, the same as `chatrec serve`.

The page and its handlers live in the package (chatrec/serve/page.py), so an installed chatrec serves without this file;
it stays here for the quick start and re-exports the page's names for scripts that load it.
"""

from chatrec.serve.page import *  # noqa: F403
from chatrec.serve.page import main

if __name__ == "__main__":
    main()
