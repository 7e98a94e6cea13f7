"""A client organisation's own database in the portal (issue 11 item 3, seed 004 s.3): its people across its
assignments with search by company, result and date; links to edit a record; delete records (bulk) and the
whole database through the one erasure path (general company data stays); the processor agreements of its
assignments with their sealed PDFs (item 7). Downloads are the exports feature's."""
