"""A trigram index so that name search (icontains) stays fast among millions of customers.

PostgreSQL only: Django's icontains becomes UPPER(display_name::text) LIKE UPPER('%term%'), which
a GIN trigram index on that same expression serves. SQLite keeps the plain (slower) scan.
"""

from django.db import migrations


class PostgresOnly(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [
        PostgresOnly(
            sql=[
                "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                "CREATE INDEX IF NOT EXISTS customer_name_trgm ON crm_customer "
                "USING gin ((UPPER(display_name::text)) gin_trgm_ops)",
            ],
            reverse_sql=["DROP INDEX IF EXISTS customer_name_trgm"],
        ),
    ]
