"""The studio: the web page people work in, served by ``cinegen serve`` at ``/``.

Pages are rendered here from small templates (``templates/``) and made live by small ES
modules (``static/js/``) that call the same HTTP routes as every other client, with the
browser's studio session in place of a bearer key. Nothing is built or fetched at install or
run time: every script, style and icon is a file of this package.
"""
