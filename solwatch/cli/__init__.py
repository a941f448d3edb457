"""The `solwatch` command: one module per command group, each parsing options, calling the
library and printing; `main` is the console script's entry point."""

from solwatch.cli import acks, admin, cases, jobs, reports, resolutions, service
from solwatch.cli.app import main

for command in (
    admin.init,
    admin.recompute,
    admin.demo,
    cases.import_,
    cases.show,
    cases.at_risk_command,
    resolutions.resolve,
    resolutions.unresolve,
    reports.stats,
    reports.export,
    jobs.run_daily_command,
    jobs.run_monthly_command,
    jobs.serve,
    service.status,
    service.notices,
    acks.ack,
    acks.acks,
    acks.unack,
):
    main.add_command(command)

__all__ = ["main"]
