"""SMS reminders and what patients answer (issue 13).

- ``templates``: placeholders, the sandboxed renderer, checking a template on save;
- ``sms_text``: encoding (GSM-7 / UCS-2) and segments of a body;
- ``outbox``: putting a message in the outbox (the one way a message is created);
the planner, the dispatcher and its providers, replies and one-tap links are siblings.
Only ``twilio_sender`` imports the ``twilio`` library.
"""
