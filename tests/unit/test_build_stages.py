"""The build's account of its time: the compile launcher's records read per translation unit and link."""

from nestml_lab.cmake import CompileTimes, compile_times


def test_the_launchers_records_are_read_per_translation_unit_and_link(tmp_path):
    times = tmp_path / "compile-times.txt"
    times.write_text("100.0 104.5 CMakeFiles/m.dir/x/a_neuron.cpp.o\n"
                     "100.1 101.0 CMakeFiles/m.dir/x/m_module.cpp.o\n"
                     "104.6 105.0 m_module.so\n"
                     "garbage line\n"
                     "200.0 202.0 CMakeFiles/m.dir/x/a_neuron.cpp.o\n")   # compiled again in a second attempt
    t = compile_times(times)
    assert t.units == {"a_neuron.cpp": 6.5, "m_module.cpp": 0.9000000000000057} and abs(t.link - 0.4) < 1e-9
    assert t.describe() == ("2 compiled, 7.4 s of compiler time (slowest: a_neuron.cpp 6.5 s, m_module.cpp 0.9 s), "
                            "link 0.4 s")
    assert compile_times(tmp_path / "missing.txt") == CompileTimes() and CompileTimes().describe() == ""
