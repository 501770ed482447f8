"""Case work: the stage types, evaluation, scan matching, review, penalties, lists and the 公示表."""
