"""CIB intake: expressions of interest, regional lead nominations and questions for the
Children's Improvement Board, received by email and Slack."""
