"""Data subject rights requests (issue 12): intake, authenticity, two deadlines, finding the person, answers."""
