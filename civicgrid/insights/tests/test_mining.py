def test_warm_up_loads_the_text_tools_in_the_background(settings):
    import sys

    from django.apps import apps as registry

    from civicgrid.insights import mining

    config = registry.get_app_config("insights")
    mining._jieba.cache_clear()
    settings.WARM_UP = False
    config.warming = None
    config.ready()
    assert config.warming is None
    settings.WARM_UP = True
    config.ready()
    assert config.warming is not None
    config.warming.join(timeout=60)
    assert not config.warming.is_alive()
    assert mining._jieba.cache_info().currsize == 1
    assert "sklearn.cluster" in sys.modules
    config.warming = None
