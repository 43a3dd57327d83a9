"""Declaration of governance (bias evaluations, oversight reports and the /governance dashboard; later the AI
system register) – see rathaus.core.capability."""

from rathaus.core.capability import Capability, Command, Job, Page

CAPABILITY = Capability(
    name="governance",
    title="Aufsicht / oversight",
    description="bias evaluations, oversight reports (climate, costs, equality, staff council), dashboard",
    commands=(
        Command("eval bias", "rathaus.commands.governance:eval_bias"),
        Command("report climate", "rathaus.commands.governance_reports:report_climate"),
        Command("report costs", "rathaus.commands.governance_reports:report_costs"),
        Command("report equality", "rathaus.commands.governance_reports:report_equality"),
        Command("report staff", "rathaus.commands.governance_reports:report_staff"),
    ),
    routers=(
        "rathaus.api.routers.governance_reports:router",
        "rathaus.web.governance:router",
    ),
    tables=("rathaus.governance.schema",),
    jobs=(
        Job("governance.bias_eval", "rathaus.governance.jobs:evaluate_bias", lock="governance.bias_eval",
            description="Geschlechter-Bias eines Modells messen (GG-BBQ) / gender-bias evaluation of a model"),
        Job("governance.monthly_reports", "rathaus.governance.reports.monthly:monthly_reports", every="30 4 1 * *",
            description="Aufsichtsberichte des Vormonats als HTML und CSV ablegen / write last month's oversight "
                        "reports to data_dir/reports/<month>/"),
    ),
    pages=(
        Page("/governance", "Aufsicht", "Oversight", roles=("admin", "auditor", "oversight", "staff-council"),
             order=85),
    ),
    strings="rathaus.governance.reports.strings:STRINGS",
    settings="rathaus.governance.settings:GovernanceSettings",
)
