"""The commerce platform: tenants, products, customers, orders, notifications, tasks."""
