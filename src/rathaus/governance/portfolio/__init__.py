"""The AI use-case portfolio (``rathaus.governance.portfolio``): departments submit ideas, the IT department
assesses them on published criteria with published weights, the prioritised list shows every figure needed to
recompute a score, and each submitter gets the written assessment. See docs/governance-portfolio.md."""
