"""The projects package: projects, members and roles, invitations, users and coders, responses, access checks,
asking for a retrain."""
