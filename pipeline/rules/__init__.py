"""The bureau's rules as pure decisions over data: the 工作细则, working days, result categories."""
