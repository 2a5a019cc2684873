"""The what-if page (issue 17): levers in, indicators and charts out, in a browser.

``hotline app SCENARIO`` starts a Streamlit page (sim/app/page.py; optional extra ``.[app]``)
that is a thin layer over ``sim.batch.study.compare`` and ``sim.plots``: the page's levers
become a variant's overrides (``sim.app.controls``), checked by the scenario schema; the
variant and the baseline run on common seeds in a job process with a pool of workers, cached
by scenario hash (``sim.app.jobs``); the indicator and cost tables are formatted as
``sim.summary`` does (``sim.app.tables``).  Nothing here imports Streamlit except the page.
"""
