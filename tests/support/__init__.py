"""Test infrastructure shared by every test package: databases, servers, processes."""
