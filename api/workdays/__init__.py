"""The working-day calendar as data (domain.md §10.1): yearly notice files, loaded into `WorkingCalendar`.

Every domain that computes a deadline (applications, ratings, supervision) reads it through `calendar_for`,
so one definition of a working day holds everywhere.
"""
