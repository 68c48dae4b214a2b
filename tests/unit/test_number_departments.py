"""Issue 25 §4: which department of the install a cooperative number names."""


def test_the_department_a_number_names():
    """Issue 25 §4: the UAI starts with the department on three characters."""
    from services.adhesion.domain import department_of_number, other_department_problem
    installed = {"38": "OCCE de l'Isère", "69": "OCCE du Rhône", "2A": "OCCE de Corse-du-Sud", "974": "OCCE 974"}
    assert department_of_number("0382296P00", installed) == "38"
    assert department_of_number("6200012A00", installed) == "2A"
    assert department_of_number("9740001B00", installed) == "974"
    assert department_of_number("0010001A00", installed) is None
    assert "département 38 (OCCE de l'Isère)" in other_department_problem("0382296P00", "69", installed)
    assert other_department_problem("0692296P00", "69", installed) is None
    assert other_department_problem("0010001A00", "69", installed) is None
