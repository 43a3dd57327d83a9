"""Input management (``rathaus.inbox``): incoming requests from mail, web form, API and Zammad are stored, routed
to a department, their data taken over, duplicates and patterns found, and replies drafted for a case worker who
approves before anything is sent. See docs/inbox.md."""
